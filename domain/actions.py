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
    # economy (三), and towns with it
    CLASSIFY = "classify"
    REQUEST_POWER_ORDER = "request_power_order"
    # housing (五)
    REQUEST_WATER_ORDER = "request_water_order"
    # departments
    RECORD_PROBLEM = "record_problem"
    DENY_APPROVAL = "deny_approval"
    GRANT_PERMIT = "grant_permit"
    REVOKE_LICENCE = "revoke_licence"
    ORDER_HAZARD_REMOVAL = "order_hazard_removal"
    IMPOSE_VEHICLE_RESTRICTION = "impose_vehicle_restriction"
    SIGN_ACCEPTANCE = "sign_acceptance"
    CANCEL_UTILITY_ORDER = "cancel_utility_order"
    # cyberspace (二), petitions (十一)
    RECORD_PUBLIC_OPINION = "record_public_opinion"
    CLOSE_PUBLIC_OPINION = "close_public_opinion"
    RECORD_PETITION = "record_petition"
    CLOSE_PETITION = "close_petition"
    # police (十二)
    RECORD_OBSTRUCTION = "record_obstruction"
    OPEN_CRIMINAL_INVESTIGATION = "open_criminal_investigation"
    SUPPORT_JOINT_ENFORCEMENT = "support_joint_enforcement"
    # utilities (十四, 五)
    ACKNOWLEDGE_ORDER = "acknowledge_order"
    EXECUTE_ORDER = "execute_order"
    REFUSE_ORDER = "refuse_order"
    REPORT_CONSUMPTION = "report_consumption"
    # district office (一)
    ISSUE_SUPERVISION_NOTICE = "issue_supervision_notice"
    EXTEND_DEADLINE = "extend_deadline"
    ARBITRATE_DISPUTE = "arbitrate_dispute"
    REOPEN_CASE = "reopen_case"
    # any unit with tasks
    ANSWER_SUPERVISION_NOTICE = "answer_supervision_notice"
    RAISE_DISPUTE = "raise_dispute"
    CORRECT_RECORD = "correct_record"
