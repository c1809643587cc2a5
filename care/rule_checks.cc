#include "care/rule_checks.h"

#include "absl/strings/ascii.h"
#include "absl/time/civil_time.h"
#include "base/status_macros.h"
#include "care/care_event_context.h"

namespace caseline::care::rules {
namespace {

bool IsIdChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-' || c == ':';
}

}  // namespace

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status CheckId(absl::string_view value, absl::string_view field) {
  bool ok = !value.empty() && value.size() <= kMaxIdBytes &&
            absl::ascii_isalnum(static_cast<unsigned char>(value[0]));
  for (char c : value) ok = ok && IsIdChar(c);
  if (ok) return absl::OkStatus();
  return Invalid(
      field,
      absl::StrCat("\"", value.substr(0, 80),
                   "\" is not an id; use 1 to 64 of A-Z a-z 0-9 . _ - :, "
                   "starting with a letter or digit"));
}

absl::Status CheckOptionalId(absl::string_view value, absl::string_view field) {
  return value.empty() ? absl::OkStatus() : CheckId(value, field);
}

absl::Status CheckText(absl::string_view value, absl::string_view field,
                       bool required) {
  if (required && value.empty()) return Invalid(field, "is required");
  if (value.size() > kMaxTextBytes) {
    return Invalid(field, absl::StrCat("is ", value.size(),
                                       " bytes; the limit is ", kMaxTextBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckEnum(int value, bool (*is_valid)(int),
                       absl::string_view field, bool required) {
  if (!is_valid(value)) {
    return Invalid(field, absl::StrCat(value, " is not a known value"));
  }
  if (required && value == 0)
    return Invalid(field, "is required (not UNSPECIFIED)");
  return absl::OkStatus();
}

absl::Status CheckDate(const v1::Date& date, absl::string_view field) {
  const absl::CivilDay day(date.year(), date.month(), date.day());
  if (date.year() < 1 || date.year() > 9999 || day.year() != date.year() ||
      day.month() != date.month() || day.day() != date.day()) {
    return Invalid(field, absl::StrCat(date.year(), "-", date.month(), "-",
                                       date.day(), " is not a calendar date"));
  }
  return absl::OkStatus();
}

absl::Status CheckTimestamp(const google::protobuf::Timestamp& t,
                            absl::string_view field) {
  if (t.nanos() < 0 || t.nanos() > 999'999'999) {
    return Invalid(field, "nanos must be 0..999999999");
  }
  return absl::OkStatus();
}

absl::Status CheckName(const v1::PersonName& name, absl::string_view field) {
  if (name.given().empty() && name.family().empty()) {
    return Invalid(field, "needs a given or a family name");
  }
  RETURN_IF_ERROR(
      CheckText(name.given(), absl::StrCat(field, ".given"), false));
  RETURN_IF_ERROR(
      CheckText(name.middle(), absl::StrCat(field, ".middle"), false));
  return CheckText(name.family(), absl::StrCat(field, ".family"), false);
}

absl::Status CheckDataClasses(
    const google::protobuf::RepeatedField<int>& classes,
    absl::string_view field) {
  for (int i = 0; i < classes.size(); ++i) {
    RETURN_IF_ERROR(CheckEnum(classes[i], v1::DataClass_IsValid,
                              absl::StrCat(field, "[", i, "]"), true));
  }
  return absl::OkStatus();
}

absl::Status RequireOrganization(const OrganizationDirectory& directory,
                                 absl::string_view organization_id,
                                 absl::string_view field) {
  if (directory.Contains(organization_id)) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat(field, ": organisation ", organization_id,
                   " is not registered; register it with "
                   "Organizations.RegisterOrganization first"));
}

absl::Status NotKnownOrNotInvolved(absl::string_view field,
                                   absl::string_view client,
                                   absl::string_view organization,
                                   const v1::CareEvent& event) {
  return absl::PermissionDeniedError(absl::StrCat(
      field.empty() ? "" : absl::StrCat(field, ": "), "client ", client,
      " is not known to organisation ", organization, ", or ", organization,
      " is not involved in its care and may not record ", CareEventName(event),
      "; an organisation becomes involved by registering the client, or by "
      "an involved organisation's act (a referral or transition sent to it, "
      "a service it provides, a care team member of it added by the lead "
      "case manager's organisation)"));
}

}  // namespace caseline::care::rules
