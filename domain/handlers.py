"""Which aggregate method handles each command: one table, by reference, so that a renamed
method breaks the import here and not a request at run time. A test holds every
command's fields to its handler's keyword parameters."""

from __future__ import annotations

from collections.abc import Callable

from domain import commands as c
from domain.case import Case

Handler = Callable[..., object]

HANDLERS: dict[type[c.Command], Handler] = {
    c.Classify: Case.classify,
    c.ConcurClassification: Case.concur_classification,
    c.RecordProblem: Case.record_problem,
    c.DenyApproval: Case.deny_approval,
    c.GrantPermit: Case.grant_permit,
    c.RevokeLicence: Case.revoke_licence,
    c.RequestLicenceRevocation: Case.request_licence_revocation,
    c.RecordAssistance: Case.record_assistance,
    c.RecordSewerWork: Case.record_sewer_work,
    c.OrderSuspension: Case.order_suspension,
    c.ReportRefusalToStop: Case.report_refusal_to_stop,
    c.SetRelocationDestination: Case.set_relocation_destination,
    c.ConfirmParkEntry: Case.confirm_park_entry,
    c.VerifyOldSite: Case.verify_old_site,
    c.RequestAcceptance: Case.request_acceptance,
    c.SignAcceptance: Case.sign_acceptance,
    c.VerifyClosure: Case.verify_closure,
    c.ReportUnauthorizedResumption: Case.report_unauthorized_resumption,
    c.ReportReconnection: Case.report_reconnection,
    c.LaunchJointEnforcement: Case.launch_joint_enforcement,
    c.SupportJointEnforcement: Case.support_joint_enforcement,
    c.RequestUtilityOrder: Case.request_utility_order,
    c.ReportConsumption: Case.report_consumption,
    c.VerifyConsumptionFlag: Case.verify_consumption_flag,
    c.CancelUtilityOrder: Case.cancel_order,
    c.AcknowledgeOrder: Case.acknowledge_order,
    c.ExecuteOrder: Case.execute_order,
    c.RefuseOrder: Case.refuse_order,
    c.RecordIncident: Case.open_incident,
    c.ReportHazardRemoved: Case.report_hazard_removed,
    c.CloseIncident: Case.close_incident,
    c.ServeEnterpriseNotice: Case.serve_enterprise_notice,
    c.RecordObjection: Case.record_objection,
    c.DecideObjection: Case.decide_objection,
    c.WithdrawListing: Case.withdraw_listing,
    c.AddUscc: Case.add_uscc,
    c.StrikeOff: Case.strike_off,
    c.RecordFollowUp: Case.record_follow_up,
    c.ReopenCase: Case.reopen,
    c.IssueSupervisionNotice: Case.issue_supervision_notice,
    c.AnswerSupervisionNotice: Case.answer_supervision_notice,
    c.ExtendDeadline: Case.extend_deadline,
    c.CancelTask: Case.cancel_task,
    c.RemindTask: Case.remind_task,
    c.RaiseDispute: Case.raise_dispute,
    c.ArbitrateDispute: Case.arbitrate_dispute,
    c.CorrectRecord: Case.correct_record,
}

# Keyword parameters a handler takes that no command carries: the application supplies
# them (the event a correction names; the interval to the follow-up check after 销号; how
# long before a deadline its first reminder goes).
CONTEXT_PARAMETERS = frozenset({"original", "follow_up_in", "remind_before"})


def handler_for(command: c.Command) -> Handler:
    return HANDLERS[type(command)]
