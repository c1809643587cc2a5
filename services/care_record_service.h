// The care-record command services (caseline.v1 Clients, Consents, Plans,
// Referrals, Services, CareTeams, Transitions, Organizations) over gRPC. Thin:
// each RPC authenticates the caller (services/access_control.h), turns its
// request into a CareCommand acted by the caller's organisation and person
// (never what the request claims) and runs it through CareCommandHandler.
// Client commands need the agency role; an organisation registers or updates
// only itself unless it is an admin.
#ifndef CASELINE_SERVICES_CARE_RECORD_SERVICE_H_
#define CASELINE_SERVICES_CARE_RECORD_SERVICE_H_

#include <memory>
#include <vector>

#include "caseline/v1/care_record.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "services/access_control.h"
#include "services/care_command_handler.h"

namespace caseline::services {

// What every command RPC needs. Not owned.
struct CommandRunner {
  CareCommandHandler* handler = nullptr;
  AccessControl* access = nullptr;
};

// The command one request of care_record.proto asks for, acted by `caller`'s
// organisation and person (never what the request claims): fields 1
// (command_id), 2 (client_id, absent for organisation commands), 3
// (occurred_at) and 4 (the proposed event) are the same in every request.
// Sets *occurred_at_given to whether the request set occurred_at. Pure.
//   INVALID_ARGUMENT   occurred_at's nanos out of range, or no proposed event
//   PERMISSION_DENIED  the caller may not record this event (client care
//                      events need the agency role; an organisation registers
//                      or updates only itself unless it is an admin)
// REQUIRES: `request` is one of care_record.proto's *Request messages.
[[nodiscard]] absl::StatusOr<care::CareCommand> CommandFromRequest(
    const Caller& caller, const google::protobuf::Message& request,
    bool* occurred_at_given);

// Runs one command request: fields 1 (command_id), 2 (client_id, absent for
// organisation commands), 3 (occurred_at) and 4 (the proposed event) are the
// same in every request of care_record.proto.
grpc::Status RunCommand(const CommandRunner& runner,
                        grpc::ServerContext* context,
                        const google::protobuf::Message& request,
                        v1::CommandResult* response);

// All eight services, sharing one handler. Register each of services().
class CareRecordServices {
 public:
  // `handler` is not owned and must outlive this object.
  explicit CareRecordServices(const CommandRunner* runner);
  ~CareRecordServices();
  std::vector<grpc::Service*> services();

 private:
  class ClientsService final : public v1::Clients::Service {
   public:
    explicit ClientsService(const CommandRunner* handler) : handler_(handler) {}
    grpc::Status RegisterClient(grpc::ServerContext* context,
                                const v1::RegisterClientRequest* request,
                                v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status CorrectClientDetails(
        grpc::ServerContext* context,
        const v1::CorrectClientDetailsRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status LinkClientRecords(grpc::ServerContext* context,
                                   const v1::LinkClientRecordsRequest* request,
                                   v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status UnlinkClientRecords(
        grpc::ServerContext* context,
        const v1::UnlinkClientRecordsRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status OpenCase(grpc::ServerContext* context,
                          const v1::OpenCaseRequest* request,
                          v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status CloseCase(grpc::ServerContext* context,
                           const v1::CloseCaseRequest* request,
                           v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status ReopenCase(grpc::ServerContext* context,
                            const v1::ReopenCaseRequest* request,
                            v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status DismissDuplicate(grpc::ServerContext* context,
                                  const v1::DismissDuplicateRequest* request,
                                  v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class ConsentsService final : public v1::Consents::Service {
   public:
    explicit ConsentsService(const CommandRunner* handler) : handler_(handler) {}
    grpc::Status GiveConsent(grpc::ServerContext* context,
                             const v1::GiveConsentRequest* request,
                             v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RevokeConsent(grpc::ServerContext* context,
                               const v1::RevokeConsentRequest* request,
                               v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RecordDisclosure(grpc::ServerContext* context,
                                  const v1::RecordDisclosureRequest* request,
                                  v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class PlansService final : public v1::Plans::Service {
   public:
    explicit PlansService(const CommandRunner* handler) : handler_(handler) {}
    grpc::Status RecordAssessment(grpc::ServerContext* context,
                                  const v1::RecordAssessmentRequest* request,
                                  v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status SetGoal(grpc::ServerContext* context,
                         const v1::SetGoalRequest* request,
                         v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RecordGoalProgress(
        grpc::ServerContext* context,
        const v1::RecordGoalProgressRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status ChangeGoalStatus(grpc::ServerContext* context,
                                  const v1::ChangeGoalStatusRequest* request,
                                  v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class ReferralsService final : public v1::Referrals::Service {
   public:
    explicit ReferralsService(const CommandRunner* handler)
        : handler_(handler) {}
    grpc::Status SendReferral(grpc::ServerContext* context,
                              const v1::SendReferralRequest* request,
                              v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status AcceptReferral(grpc::ServerContext* context,
                                const v1::AcceptReferralRequest* request,
                                v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status DeclineReferral(grpc::ServerContext* context,
                                 const v1::DeclineReferralRequest* request,
                                 v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status PutReferralOnHold(grpc::ServerContext* context,
                                   const v1::PutReferralOnHoldRequest* request,
                                   v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status StartReferral(grpc::ServerContext* context,
                               const v1::StartReferralRequest* request,
                               v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status CompleteReferral(grpc::ServerContext* context,
                                  const v1::CompleteReferralRequest* request,
                                  v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status FailReferral(grpc::ServerContext* context,
                              const v1::FailReferralRequest* request,
                              v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status CancelReferral(grpc::ServerContext* context,
                                const v1::CancelReferralRequest* request,
                                v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class ServicesService final : public v1::Services::Service {
   public:
    explicit ServicesService(const CommandRunner* handler) : handler_(handler) {}
    grpc::Status StartService(grpc::ServerContext* context,
                              const v1::StartServiceRequest* request,
                              v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status EndService(grpc::ServerContext* context,
                            const v1::EndServiceRequest* request,
                            v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status NotifyServiceInterruption(
        grpc::ServerContext* context,
        const v1::NotifyServiceInterruptionRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class CareTeamsService final : public v1::CareTeams::Service {
   public:
    explicit CareTeamsService(const CommandRunner* handler)
        : handler_(handler) {}
    grpc::Status AddCareTeamMember(grpc::ServerContext* context,
                                   const v1::AddCareTeamMemberRequest* request,
                                   v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RemoveCareTeamMember(
        grpc::ServerContext* context,
        const v1::RemoveCareTeamMemberRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RecordTeamMeeting(grpc::ServerContext* context,
                                   const v1::RecordTeamMeetingRequest* request,
                                   v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class TransitionsService final : public v1::Transitions::Service {
   public:
    explicit TransitionsService(const CommandRunner* handler)
        : handler_(handler) {}
    grpc::Status RecordAdmission(grpc::ServerContext* context,
                                 const v1::RecordAdmissionRequest* request,
                                 v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status PlanTransition(grpc::ServerContext* context,
                                const v1::PlanTransitionRequest* request,
                                v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RecordDischarge(grpc::ServerContext* context,
                                 const v1::RecordDischargeRequest* request,
                                 v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status CompleteTransition(
        grpc::ServerContext* context,
        const v1::CompleteTransitionRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status RecordFollowUp(grpc::ServerContext* context,
                                const v1::RecordFollowUpRequest* request,
                                v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  class OrganizationsService final : public v1::Organizations::Service {
   public:
    explicit OrganizationsService(const CommandRunner* handler)
        : handler_(handler) {}
    grpc::Status RegisterOrganization(
        grpc::ServerContext* context,
        const v1::RegisterOrganizationRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }
    grpc::Status UpdateOrganization(
        grpc::ServerContext* context,
        const v1::UpdateOrganizationRequest* request,
        v1::CommandResult* response) override {
      return RunCommand(*handler_, context, *request, response);
    }

   private:
    const CommandRunner* const handler_;
  };

  std::vector<std::unique_ptr<grpc::Service>> services_;
};

}  // namespace caseline::services

#endif  // CASELINE_SERVICES_CARE_RECORD_SERVICE_H_
