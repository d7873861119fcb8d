"""The authorization oracle of figure F1, written from the specification, not from the decorators.

Two hand-written tables decide every cell of the matrix:

* ``AREAS``: each endpoint's *functional area* (what the page is for), classified by reading the
  endpoint and its page, not its ``@requires`` permission;
* ``ROLE_AREAS``: the areas each real role should reach, from the specification
  (``spec/README.md`` "trainers upload materials and build exams; HR staff review evaluation,
  stipend and coverage reports; administrators manage units, people and accounts", decision 15
  三员分立, ``ux.md`` per user kind, ``docs/decisions.md`` 3-4 and 13).

A role held at a unit covers that unit's subtree (decision 4); whether a principal's unit covers an
object's unit is computed by walking the object's ``parent_id`` chain (not the materialized path
the product uses). Areas marked county-side (appointments, the county's evaluation work) or
city-side (the yearly policy) are judged at that unit, as ``docs/grading.md`` and
``docs/onboarding.md`` state ("checked on the county unit, so a township cannot answer itself").
"""

from __future__ import annotations

#: Who may use it: public (anyone), login (any signed-in account, the page shows only the
#: user's own things), own (the signed-in person's own objects), or a staff area.
PUBLIC = "public"
LOGIN = "login"
OWN = "own"
#: Learner pages: a signed-in account with a person record, for courses offered to the person's
#: unit (a course of the unit or of a unit above it) — or a course the user manages.
LEARN = "learn"

#: Personal pages: a signed-in account with a person record (its own training record).
PERSONAL = "personal"

# Staff areas
ACCOUNTS = "accounts"              # accounts, roles, sessions, lockouts
AUDIT = "audit"                    # the audit log (audit admin only)
ORG_BROWSE = "org_browse"          # the unit tree and unit pages
ORG_EDIT = "org_edit"              # create/move/edit units, unit import
PEOPLE_BROWSE = "people_browse"    # people lists and person pages, post gate pages, filings read
PEOPLE_EDIT = "people_edit"        # people, posts, qualifications, appointments from the township
ID_REVEAL = "id_reveal"            # show an ID-card number in clear
QUOTA = "quota"                    # staffing quota
COURSES = "course_authoring"       # trainers author courses
PROGRAMS = "programs"              # training programs, sessions, roll call, certificates
TRAINING_VIEW = "training_view"    # coverage and personal records of people in scope
EXTERNAL = "external_approve"      # approve external training hours
EXAMS = "exam_authoring"           # banks, papers, exam settings, marking, exam day
EXAM_RESULTS = "exam_results"      # results and item analysis (read)
APPOINT_REVIEW = "appointment_review"  # county side: consultations and filings (county unit)
#: Consultation and filing lists and filing pages: the county side that answers them and the
#: township side (people editors) that files and corrects them.
APPOINTMENTS = "appointments"
OVERSIGHT = "onboarding_oversight"  # pending onboarding, acting posts, vacancies ...
POLICY = "grading_policy"          # the city's yearly evaluation policy (city unit)
EVAL_SCORE = "evaluation_score"    # township scores, satisfaction, quarterly grades
EVAL_REVIEW = "evaluation_review"  # county: open/publish/confirm rounds, appeals, stipends
REPORTS = "grading_reports"        # HR reports: grades, levels, stipends

_AREA_ENDPOINTS: dict[str, list[str]] = {
    PUBLIC: ["auth.login", "training.verify", "web.healthz", "web.privacy", "web.set_language"],
    LOGIN: ["auth.account", "auth.change_password", "auth.logout", "web.home", "exams.my_exams",
            "grading.index", "grading.my_results", "onboarding.my_replacements",
            "training.my_certificates", "training.my_certificate_pdf", "training.signin",
            "courses.my_courses", "courses.attachment_file"],
    PERSONAL: ["training.my_evidence", "training.my_new_external", "training.my_record"],
    LEARN: ["courses.course_page", "courses.lesson_page", "courses.complete_lesson",
            "courses.record_position", "courses.record_time"],
    OWN: ["exams.attempt_page", "exams.attempt_state", "exams.exam_intro",
          "exams.raise_score_query", "exams.review_attempt", "exams.save_answers",
          "exams.save_form", "exams.start_attempt", "exams.submit_attempt", "grading.my_appeal",
          "grading.my_result", "onboarding.my_replacement"],
    ACCOUNTS: ["admin.bulk_accounts", "admin.disable_account", "admin.enable_account",
               "admin.end_sessions", "admin.grant_role", "admin.list_accounts",
               "admin.new_account", "admin.reset_password", "admin.revoke_role",
               "admin.show_account", "admin.unlock_account"],
    AUDIT: ["admin.audit_log", "admin.verify_audit"],
    ORG_BROWSE: ["org.tree", "org.show_unit", "org.search_units"],
    ORG_EDIT: ["org.new_unit", "org.edit_unit", "org.move_unit", "org.import_units",
               "org.confirm_units", "org.units_template_csv"],
    PEOPLE_BROWSE: ["org.list_people", "org.show_person", "org.export_people",
                    "onboarding.post_gate", "onboarding.candidates"],
    APPOINTMENTS: ["onboarding.list_filings", "onboarding.show_filing",
                   "onboarding.list_consultations"],
    PEOPLE_EDIT: ["org.new_person", "org.edit_person", "org.transfer_person", "org.open_post",
                  "org.change_status", "org.set_acting", "org.add_qualification",
                  "org.remove_qualification", "org.import_people", "org.confirm_people",
                  "org.people_template_csv", "org.people_template_xlsx",
                  "onboarding.open_consultation", "onboarding.supplement_consultation",
                  "onboarding.withdraw_consultation", "onboarding.resubmit_filing",
                  "onboarding.open_replacement", "onboarding.withdraw_replacement",
                  "onboarding.decide_replacement"],
    ID_REVEAL: ["org.reveal_id"],
    QUOTA: ["org.quota"],
    COURSES: ["courses.author_course", "courses.author_delete_attachment",
              "courses.author_edit_course", "courses.author_edit_lesson",
              "courses.author_library_course", "courses.author_list",
              "courses.author_move_lesson", "courses.author_new_course",
              "courses.author_new_lesson", "courses.author_preview", "courses.author_reorder",
              "courses.author_retire_course", "courses.author_retire_lesson",
              "courses.author_upload_course_file", "courses.author_upload_lesson_file",
              "courses.author_upload_poster"],
    PROGRAMS: ["training.add_person", "training.attach_course", "training.auto_enrol",
               "training.change_status", "training.close_signin", "training.completion_page",
               "training.edit_program", "training.edit_session", "training.export_programs",
               "training.export_roster", "training.issue_certificates",
               "training.link_program_exam", "training.list_programs", "training.move_course",
               "training.new_program", "training.new_session", "training.open_signin",
               "training.program_certificates_pdf", "training.remove_person",
               "training.roll_call", "training.show_program", "training.show_session",
               "training.signin_code", "training.signin_sheet", "training.unlink_program_exam",
               "onboarding.repeat"],
    TRAINING_VIEW: ["training.coverage_page", "training.coverage_people",
                    "training.export_coverage", "training.export_coverage_people",
                    "training.person_evidence", "training.person_record"],
    EXTERNAL: ["training.decide_external", "training.export_external_queue",
               "training.external_queue", "training.new_external"],
    EXAMS: ["exams.add_group_override", "exams.add_person_override", "exams.add_to_paper",
            "exams.answer_score_query", "exams.archive_bank", "exams.bank_template",
            "exams.change_item", "exams.change_status", "exams.confirm_import",
            "exams.correct_key", "exams.edit_bank", "exams.edit_exam", "exams.edit_paper",
            "exams.edit_question", "exams.edit_slot", "exams.exam_keys", "exams.exam_overrides",
            "exams.exam_roster", "exams.export_bank_gift", "exams.export_bank_xlsx",
            "exams.import_questions", "exams.list_banks", "exams.list_exams",
            "exams.live_attempt", "exams.live_exam", "exams.live_extend", "exams.live_reopen",
            "exams.mark_attempt", "exams.marking_queue", "exams.new_bank", "exams.new_exam",
            "exams.new_question", "exams.preview_exam", "exams.remove_override",
            "exams.remove_slot", "exams.retire_question", "exams.save_slot",
            "exams.score_query_list", "exams.show_bank", "exams.show_exam",
            "exams.show_question"],
    EXAM_RESULTS: ["exams.analysis_bank", "exams.analysis_bank_xlsx", "exams.analysis_exam",
                   "exams.analysis_exam_xlsx", "exams.exam_results", "exams.export_results",
                   "exams.result_attempt"],
    APPOINT_REVIEW: ["onboarding.acknowledge_filing", "onboarding.return_filing",
                     "onboarding.reply_consultation", "onboarding.show_consultation"],
    OVERSIGHT: ["onboarding.oversight_hub", "onboarding.oversight_list",
                "onboarding.qualified_share", "onboarding.list_replacements",
                "onboarding.show_replacement"],
    POLICY: ["grading.activate_policy", "grading.edit_policy", "grading.list_policies",
             "grading.lock_policy", "grading.new_policy"],
    EVAL_SCORE: ["grading.list_rounds", "grading.show_round", "grading.show_sheet",
                 "grading.satisfaction", "grading.quarter_grades", "grading.save_quarter_grades",
                 "grading.township_payroll", "grading.payroll_sheet", "grading.propose_change",
                 "grading.propose_line_change"],
    EVAL_REVIEW: ["grading.open_round", "grading.publish_round", "grading.refresh_round",
                  "grading.reopen_round", "grading.confirm_round", "grading.list_appeals",
                  "grading.show_appeal", "grading.compute_stipends", "grading.confirm_stipends",
                  "grading.list_stipends", "grading.show_stipends", "grading.list_changes",
                  "grading.show_change", "grading.approve_change", "grading.reject_change"],
    REPORTS: ["grading.reports_index"] + [
        f"grading.report_{name}{suffix}"
        for name in ("grades", "levels", "stipends", "years")
        for suffix in ("", "_csv", "_png", "_xlsx")] + [
        "grading.report_progress", "grading.report_progress_csv",
        "grading.report_progress_xlsx", "grading.report_flagged", "grading.report_flagged_csv",
        "grading.report_flagged_xlsx"],
}

AREAS: dict[str, str] = {ep: area for area, eps in _AREA_ENDPOINTS.items() for ep in eps}
assert len(AREAS) == sum(len(v) for v in _AREA_ENDPOINTS.values()), "an endpoint in two areas"

_TRAINER = {ORG_BROWSE, PEOPLE_BROWSE, COURSES, PROGRAMS, TRAINING_VIEW, EXAMS, EXAM_RESULTS,
            OVERSIGHT}
_HR = {ORG_BROWSE, PEOPLE_BROWSE, QUOTA, TRAINING_VIEW, EXTERNAL, EXAM_RESULTS, APPOINT_REVIEW,
       APPOINTMENTS, OVERSIGHT, POLICY, EVAL_SCORE, EVAL_REVIEW, REPORTS}

#: The areas each role should reach (unit roles: in the subtree of the unit where they hold it).
ROLE_AREAS: dict[str, frozenset[str]] = {
    # "trainers upload materials and build exams" (README); programs, sessions and the roll
    # (issue 8 journey 2); results and coverage of their trainees (ux.md Trainer).
    "trainer": frozenset(_TRAINER),
    # "HR staff review evaluation, stipend and coverage reports" (README); the ux.md dashboard of
    # coverage, pending onboarding, overdue filings, evaluation progress; appointments and the
    # county's and city's side of the evaluation (docs/grading.md, docs/onboarding.md).
    "hr": frozenset(_HR),
    # "administrators manage units, people and accounts" on top of everything their unit does.
    "unit_admin": frozenset(_TRAINER | _HR | {ORG_EDIT, PEOPLE_EDIT, ID_REVEAL, ACCOUNTS}),
    # 三员分立: the system administrator keeps the organisation (units, people, quota) — not
    # accounts, not the audit log, not ID numbers in clear, no business data.
    "system_admin": frozenset({ORG_BROWSE, ORG_EDIT, PEOPLE_BROWSE, PEOPLE_EDIT, APPOINTMENTS,
                               QUOTA}),
    # the security administrator manages accounts and roles (needs to find people for them).
    "security_admin": frozenset({ACCOUNTS, ORG_BROWSE, PEOPLE_BROWSE}),
    # the audit administrator reads and verifies the audit log (and the unit tree to filter it).
    "audit_admin": frozenset({AUDIT, ORG_BROWSE}),
}

#: Endpoints whose view answers 404 when the empty form or query names nothing (the role to
#: revoke, the enrolment to repeat, the evidence entry, the certificate serial): an allowed cell
#: may show 404; a denied cell must still be a deny. Their object checks have their own tests.
EMPTY_FORM_404 = frozenset({"admin.revoke_role", "onboarding.repeat", "training.my_evidence",
                            "training.my_certificate_pdf"})

#: Areas judged at the county that owns the matter (a township holding the role cannot answer
#: itself), and at the city (the yearly policy).
COUNTY_SIDE = frozenset({APPOINT_REVIEW, EVAL_REVIEW})
CITY_SIDE = frozenset({POLICY})
