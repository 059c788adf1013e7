"""Every action a unit may post (DOMAIN.md section 3). The permission matrix is data:
`data/units.json` says which role may post which action."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    # towns and platforms (十五)
    LIST_ENTERPRISE = "list_enterprise"
    RECORD_PATROL = "record_patrol"
    ORDER_SUSPENSION = "order_suspension"
    VERIFY_OLD_SITE = "verify_old_site"
    REQUEST_ACCEPTANCE = "request_acceptance"
    VERIFY_CLOSURE = "verify_closure"
    REPORT_UNAUTHORIZED_RESUMPTION = "report_unauthorized_resumption"
    LAUNCH_JOINT_ENFORCEMENT = "launch_joint_enforcement"
    VERIFY_CONSUMPTION_FLAG = "verify_consumption_flag"
    STRIKE_OFF = "strike_off"
    RECORD_FOLLOW_UP = "record_follow_up"
    REQUEST_GAS_ORDER = "request_gas_order"
    REPORT_REFUSAL_TO_STOP = "report_refusal_to_stop"  # 拒不执行停产整治
    CONFIRM_PARK_ENTRY = "confirm_park_entry"  # the park platform admits the enterprise
    SERVE_ENTERPRISE_NOTICE = "serve_enterprise_notice"  # 告知: a notice served on it
    RECORD_OBJECTION = "record_objection"  # the enterprise objects or asks for a hearing
    WITHDRAW_LISTING = "withdraw_listing"  # a mistaken listing, withdrawn with a reason
    ADD_USCC = "add_uscc"  # a workshop registered: its USCC is added to the case
    REFER_TO_POLICE = "refer_to_police"  # 移送 (towns and ecology)
    REPORT_HAZARD_REMOVED = "report_hazard_removed"  # a unit named in a removal order
    # economy (三), and towns with it
    CLASSIFY = "classify"
    CONCUR_CLASSIFICATION = "concur_classification"  # 会同: the other unit agrees or objects
    SET_RELOCATION_DESTINATION = "set_relocation_destination"
    DECIDE_OBJECTION = "decide_objection"  # the enterprise's objection heard and decided
    REQUEST_POWER_ORDER = "request_power_order"
    # housing (五)
    REQUEST_WATER_ORDER = "request_water_order"
    RECORD_ASSISTANCE = "record_assistance"  # 配合 on illegal structures
    RECORD_SEWER_WORK = "record_sewer_work"  # 污水管网建设
    # departments
    RECORD_PROBLEM = "record_problem"
    DENY_APPROVAL = "deny_approval"
    GRANT_PERMIT = "grant_permit"
    REVOKE_LICENCE = "revoke_licence"
    ORDER_HAZARD_REMOVAL = "order_hazard_removal"
    CLOSE_HAZARD_REMOVAL = "close_hazard_removal"
    IMPOSE_VEHICLE_RESTRICTION = "impose_vehicle_restriction"
    LIFT_VEHICLE_RESTRICTION = "lift_vehicle_restriction"
    SIGN_ACCEPTANCE = "sign_acceptance"
    CANCEL_UTILITY_ORDER = "cancel_utility_order"
    # cyberspace (二), petitions (十一)
    RECORD_PUBLIC_OPINION = "record_public_opinion"
    CLOSE_PUBLIC_OPINION = "close_public_opinion"
    RECORD_PETITION = "record_petition"
    CLOSE_PETITION = "close_petition"
    REFUSE_REGISTRATION = "refuse_registration"  # market: a new applicant inside 四山
    # police (十二)
    RECORD_OBSTRUCTION = "record_obstruction"
    OPEN_CRIMINAL_INVESTIGATION = "open_criminal_investigation"
    CLOSE_CRIMINAL_INVESTIGATION = "close_criminal_investigation"
    CLOSE_REFERRAL = "close_referral"  # the police decide on a referral
    SUPPORT_JOINT_ENFORCEMENT = "support_joint_enforcement"
    # utilities (十四, 五)
    ACKNOWLEDGE_ORDER = "acknowledge_order"
    EXECUTE_ORDER = "execute_order"
    REFUSE_ORDER = "refuse_order"
    REPORT_CONSUMPTION = "report_consumption"
    REPORT_RECONNECTION = "report_reconnection"  # supply found reconnected without an order
    # district office (一)
    ISSUE_SUPERVISION_NOTICE = "issue_supervision_notice"
    EXTEND_DEADLINE = "extend_deadline"
    ARBITRATE_DISPUTE = "arbitrate_dispute"
    REOPEN_CASE = "reopen_case"
    CANCEL_TASK = "cancel_task"
    SEND_REMINDER = "send_reminder"  # the reminders process, in the district office's name
    REQUEST_LICENCE_REVOCATION = "request_licence_revocation"  # 按区政府要求吊销
    MAINTAIN_CONTROL_AREAS = "maintain_control_areas"  # the 四山 areas, as data
    # any unit with tasks
    ANSWER_SUPERVISION_NOTICE = "answer_supervision_notice"
    RAISE_DISPUTE = "raise_dispute"
    CORRECT_RECORD = "correct_record"
