#include "care/organization_directory.h"

#include <algorithm>

namespace caseline::care {

void OrganizationDirectory::Apply(const v1::CareEvent& event,
                                  const CareEventContext& context) {
  version_ = context.stream_version;
  if (event.has_organization_registered()) {
    const auto& registered = event.organization_registered();
    organizations_[registered.organization_id()] = registered;
  } else if (event.has_organization_updated()) {
    const auto& update = event.organization_updated();
    auto it = organizations_.find(update.organization_id());
    if (it == organizations_.end()) return;
    if (!update.name().empty()) it->second.set_name(update.name());
    if (update.type() != v1::ORGANIZATION_TYPE_UNSPECIFIED) {
      it->second.set_type(update.type());
    }
    if (update.service_categories_size() > 0) {
      *it->second.mutable_service_categories() = update.service_categories();
    }
  }
}

const v1::OrganizationRegistered* OrganizationDirectory::Find(
    absl::string_view organization_id) const {
  auto it = organizations_.find(organization_id);
  return it == organizations_.end() ? nullptr : &it->second;
}

std::vector<const v1::OrganizationRegistered*> OrganizationDirectory::All()
    const {
  std::vector<const v1::OrganizationRegistered*> all;
  all.reserve(organizations_.size());
  for (const auto& [id, organization] : organizations_) {
    all.push_back(&organization);
  }
  std::sort(all.begin(), all.end(), [](const auto* a, const auto* b) {
    return a->organization_id() < b->organization_id();
  });
  return all;
}

}  // namespace caseline::care
