"""Display labels for every enum value, in one place (translated lazily)."""

from __future__ import annotations

from typing import Any

from lms.auth.perms import ROLE_LABELS
from lms.i18n import _l
from lms.org.models import Gender, Level, PostStatus, PostType, QualificationLevel, UnitKind

#: Levels apart: ``Level.VILLAGE`` and ``UnitKind.VILLAGE`` share the raw value "village", so
#: in LABELS the kind's label wins; use ``level_label`` where a level is meant.
LEVEL_LABELS: dict[str, Any] = {
    Level.PROVINCE: _l("省"), Level.CITY: _l("市"), Level.COUNTY: _l("县（市、区）"),
    Level.TOWNSHIP: _l("乡镇（街道）"), Level.VILLAGE: _l("村（社区）"),
}

LABELS: dict[str, Any] = {
    **LEVEL_LABELS,
    UnitKind.TOWN: _l("镇"), UnitKind.RURAL_TOWNSHIP: _l("乡"), UnitKind.SUBDISTRICT: _l("街道"),
    UnitKind.VILLAGE: _l("行政村"), UnitKind.COMMUNITY: _l("社区"),
    PostType.OFFICE_DIRECTOR: _l("乡镇民政办主任"),
    PostType.TOWNSHIP_STAFF: _l("乡镇民政工作人员"),
    PostType.VILLAGE_ASSISTANT: _l("村(社区)民政助理员"),
    PostStatus.NOMINATED: _l("已提名"), PostStatus.PENDING_ONBOARDING: _l("待培训"),
    PostStatus.ONBOARDED: _l("已通过岗前培训"), PostStatus.IN_POST: _l("已上岗"),
    PostStatus.SUSPENDED: _l("暂停"), PostStatus.REMOVED: _l("已免职"),
    QualificationLevel.JUNIOR: _l("助理社会工作师"),
    QualificationLevel.INTERMEDIATE: _l("社会工作师"),
    QualificationLevel.SENIOR: _l("高级社会工作师"),
    Gender.MALE: _l("男"), Gender.FEMALE: _l("女"),
    **{k.value: v for k, v in ROLE_LABELS.items()},
}


#: Audit actions in words; an action without an entry is shown as its code.
AUDIT_ACTIONS: dict[str, Any] = {
    "auth.login": _l("登录"), "auth.logout": _l("退出登录"), "auth.login_failed": _l("登录失败"),
    "auth.lockout": _l("账号锁定"), "account.create": _l("新建账号"),
    "account.enable": _l("启用账号"), "account.disable": _l("停用账号"),
    "account.unlock": _l("解除锁定"), "account.password_change": _l("修改密码"),
    "account.password_reset": _l("重置密码"), "account.sessions_end": _l("结束全部登录"),
    "role.grant": _l("授予角色"), "role.revoke": _l("撤销角色"),
    "unit.create": _l("新建单位"), "unit.update": _l("修改单位"), "unit.move": _l("移动单位"),
    "unit.import": _l("导入单位"), "person.create": _l("新增人员"),
    "person.update": _l("修改人员信息"), "person.import": _l("导入人员"),
    "person.reveal_id": _l("查看完整身份证号"), "person.transfer": _l("人员调动"),
    "person.qualification_add": _l("登记证书"), "person.qualification_remove": _l("删除证书"),
    "post.open": _l("新增岗位"), "post.status": _l("岗位状态变更"), "post.acting": _l("代理标记"),
    "audit.view": _l("查看审计日志"), "audit.verify": _l("校验审计链"),
    "demo.load": _l("加载演示数据"),
    "course.create": _l("新建课程"), "course.update": _l("修改课程"),
    "course.retire": _l("停用课程"), "course.restore": _l("恢复课程"),
    "lesson.create": _l("新建课时"), "lesson.update": _l("修改课时"),
    "lesson.retire": _l("停用课时"), "lesson.restore": _l("恢复课时"),
    "lesson.reorder": _l("调整课时顺序"), "lesson.complete": _l("学完课时"),
    "attachment.upload": _l("上传附件"), "attachment.delete": _l("删除附件"),
    "attachment.poster": _l("设置视频封面"), "attachment.reject": _l("拒收上传文件"),
    "program.create": _l("新建培训班"), "program.update": _l("修改培训班"),
    "program.course_add": _l("培训班添加课程"), "program.course_remove": _l("培训班移除课程"),
    "program.course_move": _l("调整培训班课程顺序"),
    "program.open": _l("培训班开班"), "program.close": _l("结束培训班"),
    "enrolment.auto": _l("自动报名"), "enrolment.add": _l("添加学员"),
    "enrolment.remove": _l("移出学员"), "enrolment.promote": _l("候补转正"),
    "session.create": _l("新建面授课"), "session.update": _l("修改面授课"),
    "session.signin_open": _l("开启签到"), "session.signin_close": _l("结束签到"),
    "attendance.roll_call": _l("点名"), "attendance.signin": _l("签到"),
    "attendance.signin_failed": _l("签到码错误"), "completion.create": _l("颁发结业证书"),
    "training.external_submit": _l("登记外部培训"),
    "training.external_approve": _l("认定外部培训"),
    "training.external_reject": _l("退回外部培训"),
    "exam.attempt_started": _l("开始考试"), "exam.attempt_submitted": _l("交卷"),
    "exam.attempt_auto_submitted": _l("自动交卷"),
    "exam.attempt_extend": _l("延长答题时间"), "exam.attempt_reopen": _l("重新开放答卷"),
    "exam.bank_create": _l("新建题库"), "exam.bank_update": _l("修改题库"),
    "exam.bank_archive": _l("归档题库"), "exam.bank_restore": _l("恢复题库"),
    "exam.question_create": _l("新增试题"), "exam.question_update": _l("修改试题"),
    "exam.question_retire": _l("停用试题"), "exam.question_restore": _l("恢复试题"),
    "exam.question_import": _l("导入试题"),
    "exam.item_mark": _l("评阅简答题"), "exam.item_remark": _l("修改阅卷分数"),
    "exam.item_override": _l("人工修改客观题得分"), "exam.key_correct": _l("更正试题答案"),
    "exam.regrade": _l("重新评分"), "exam.results_export": _l("导出考试成绩"),
    "exam.query_raise": _l("申请成绩复核"), "exam.query_answer": _l("答复成绩复核"),
    "exam.program_link": _l("设为培训班结业考试"), "exam.program_unlink": _l("取消结业考试关联"),
    "exam.create": _l("新建考试"), "exam.update": _l("修改考试设置"),
    "exam.publish": _l("发布考试"), "exam.unpublish": _l("撤回考试为草稿"),
    "exam.archive": _l("归档考试"),
    "exam.override_set": _l("设置考试延时"), "exam.override_remove": _l("取消考试延时"),
    "exam.paper_add": _l("试卷添加试题"), "exam.paper_remove": _l("试卷移除试题"),
    "exam.paper_move": _l("调整试题顺序"), "exam.paper_points": _l("修改试卷分值"),
    "exam.slot_add": _l("新增组卷规则"), "exam.slot_update": _l("修改组卷规则"),
    "exam.slot_remove": _l("删除组卷规则"),
    "enrolment.restart": _l("重修课程"), "enrolment.onboarding": _l("岗前培训报名"),
    "onboarding.assign": _l("分配岗前培训"), "onboarding.pass": _l("通过岗前培训"),
    "consultation.submit": _l("提交主任人选征求意见"),
    "consultation.request_info": _l("要求补充材料"), "consultation.supplement": _l("补充材料"),
    "consultation.concur": _l("同意主任人选"), "consultation.object": _l("不同意主任人选"),
    "consultation.withdraw": _l("撤回征求意见"),
    "filing.submit": _l("提交助理员备案"), "filing.acknowledge": _l("备案已接收"),
    "filing.return": _l("退回备案"), "filing.resubmit": _l("重新提交备案"),
    "replacement.open": _l("启动撤换"), "replacement.statement": _l("提交申辩"),
    "replacement.dismiss": _l("决定撤换"), "replacement.keep": _l("决定留任"),
    "replacement.withdraw": _l("撤销撤换"),
    "grading.policy_create": _l("新建年度评价政策"),
    "grading.policy_update": _l("修改年度评价政策"),
    "grading.policy_activate": _l("年度评价政策生效"),
    "grading.policy_lock": _l("锁定年度评价政策"),
    "evaluation.open": _l("开启年度考评"), "evaluation.refresh": _l("更新考评名单和能力素质分"),
    "evaluation.score": _l("录入考评评分"), "evaluation.satisfaction": _l("录入群众满意度"),
    "evaluation.publish": _l("公示考评结果"), "evaluation.reopen": _l("撤回考评公示"),
    "evaluation.confirm": _l("审定年度考评"), "evaluation.appeal": _l("提出考评申诉"),
    "evaluation.appeal_answer": _l("答复考评申诉"),
    "stipend.quarter_grade": _l("录入季度考核等次"), "stipend.compute": _l("计算季度补贴"),
    "stipend.confirm": _l("确认发放季度补贴"),
    "stipend.payroll_export": _l("导出补贴发放表"),
    "grading.report_export": _l("导出考评统计报表"),
    "integrity.verified": _l("导出前完整性校验通过（记录各县指纹）"),
    "grading.change_propose": _l("提出结果更正申请"),
    "grading.change_approve": _l("批准结果更正申请"),
    "grading.change_reject": _l("驳回结果更正申请"),
}
OBJECT_TYPES: dict[str, Any] = {
    "User": _l("账号"), "OrgUnit": _l("单位"), "Person": _l("人员"), "Post": _l("岗位"),
    "Course": _l("课程"), "Lesson": _l("课时"), "Attachment": _l("附件"),
    "Program": _l("培训班"), "Enrollment": _l("报名"), "TrainingSession": _l("面授课"),
    "Attendance": _l("考勤"), "Completion": _l("结业记录"), "ExternalTraining": _l("外部培训"),
    "Attempt": _l("答卷"),
    "Exam": _l("考试"),
    "QuestionBank": _l("题库"), "Question": _l("试题"),
    "AttemptItem": _l("答卷试题"), "QuestionVersion": _l("试题版本"), "ScoreQuery": _l("成绩复核"),
    "OnboardingRecord": _l("岗前培训记录"), "Consultation": _l("主任人选征求意见"),
    "Filing": _l("助理员备案"), "ReplacementCase": _l("撤换案件"),
    "EvaluationPolicy": _l("年度评价政策"), "EvaluationRound": _l("年度考评"),
    "Evaluation": _l("考评结果"), "Appeal": _l("考评申诉"), "QuarterGrade": _l("季度考核等次"),
    "StipendQuarter": _l("季度补贴"), "StipendLine": _l("补贴明细"),
    "ChangeRequest": _l("结果更正申请"),
}


def action_label(action: str | None) -> Any:
    return AUDIT_ACTIONS.get(action or "", action or "")


def object_label(object_type: str | None) -> Any:
    return OBJECT_TYPES.get(object_type or "", object_type or "")


def label(value: Any) -> Any:
    """The translated label of an enum value (or its raw value if it has none)."""
    if value is None:
        return ""
    return LABELS.get(getattr(value, "value", value), value)


def level_label(value: Any) -> Any:
    """The translated label of a unit level (never the unit kind of the same raw value)."""
    return LEVEL_LABELS.get(getattr(value, "value", value), label(value))
