"""Personal training record and external training: what counts, maker-checker, own record only,
evidence uploads, scope, hostile input."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from lms.audit import AuditEntry
from lms.db import utcnow
from lms.errors import InvalidState, NotAllowed, ValidationFailed
from lms.extensions import db
from lms.org.models import PostType
from lms.training import records
from lms.training.coverage import Cutoffs
from lms.training.models import ExternalTraining
from tests.factories import make_person, make_user
from tests.querycount import count_queries
from tests.training.test_coverage import VA, complete, today, years_ago

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def uploads_dir(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return tmp_path


def files_on_disk(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()]


def external(person, title: str, hours: str, status: str, *, by=None) -> ExternalTraining:
    entry = ExternalTraining(person_id=person.id, org_unit_id=person.org_unit_id, title=title,
                             provider="全国民政干部网络学院", credit_hours=Decimal(hours),
                             completed_on=date(2025, 5, 1), status=status,
                             submitted_by_id=by.id if by else None, decision_note="",
                             decided_at=utcnow() if status != "pending" else None)
    db.session.add(entry)
    db.session.flush()
    return entry


def form(title: str = "社会救助政策专题", hours: str = "6", on: str = "2025-09-01",
         evidence: tuple[bytes, str] | None = None) -> dict:
    data = {"title": title, "provider": "山东省民政厅", "credit_hours": hours, "completed_on": on}
    if evidence is not None:
        data["evidence"] = (io.BytesIO(evidence[0]), evidence[1])
    return data


def entries() -> list[ExternalTraining]:
    db.session.expire_all()
    return list(db.session.execute(select(ExternalTraining).order_by(ExternalTraining.id))
                .scalars())


def audited(action: str) -> int:
    return len(db.session.execute(select(AuditEntry).where(AuditEntry.action == action)).all())


# ---------------------------------------------------------------- the record


def test_record_shows_completions_and_approved_external_hours_only(client, world):
    a = world.person_a
    complete(a, VA, years_ago(1), hours="16", score="92.5", title="民政助理员轮训班")
    complete(a, VA, years_ago(2), kind="in_service", hours="8", score=None, title="在岗专题")
    external(a, "网络学院专题甲", "6", "approved")
    external(a, "待审专题乙", "5", "pending")
    external(a, "退回专题丙", "3", "rejected")
    db.session.commit()
    rec = records.training_record(a, cut=Cutoffs.of(today(), 3))
    assert [e.title for e in rec.external] == ["网络学院专题甲"]
    assert sorted(e.title for e in rec.submissions) == ["待审专题乙", "退回专题丙"]
    assert rec.total_hours == Decimal("30.0")
    client.login("a_hr")
    html = client.get(f"/training/people/{a.id}/record").get_data(as_text=True)
    assert "民政助理员轮训班" in html and "92.5" in html and "3713-" in html
    assert "<dd><strong>30.0</strong></dd>" in html
    assert "网络学院专题甲" in html and "在岗培训" in html and "轮训" in html
    printed, _sep, follow_up = html.partition('<section class="noprint">')
    assert "待审专题乙" not in printed and "退回专题丙" not in printed
    assert "待审专题乙" in follow_up and "待审核" in follow_up and "未通过" in follow_up
    assert "data-print" in html and "周期内" in html


def test_person_page_links_to_the_record(client, world):
    client.login("a_hr")
    html = client.get(f"/org/people/{world.person_a.id}").get_data(as_text=True)
    assert f"/training/people/{world.person_a.id}/record" in html


def test_record_query_count_does_not_grow(client, world):
    a = world.person_a
    complete(a, VA, years_ago(1))
    db.session.commit()
    client.login("a_hr")

    def count() -> int:
        db.session.expire_all()
        with count_queries() as c:
            assert client.get(f"/training/people/{a.id}/record").status_code == 200
        return c.count

    small = count()
    for i in range(15):
        complete(a, VA, years_ago(1, -i))
        external(a, f"专题{i}", "2", ("approved", "pending", "rejected")[i % 3])
    db.session.commit()
    assert count() == small


# ---------------------------------------------------------------- maker-checker


def test_staff_entry_then_another_person_approves(client, world, uploads_dir):
    a = world.person_a
    client.login("a_hr")
    resp = client.post(f"/training/people/{a.id}/external/new",
                       form(evidence=(PDF, "结业证书.pdf")))
    assert resp.status_code == 302
    [entry] = entries()
    assert (entry.status, entry.submitted_by_id, entry.org_unit_id) == (
        "pending", world.a_hr.id, world.village_a.id)
    assert len(files_on_disk(uploads_dir)) == 1 and audited("training.external_submit") == 1
    resp = client.post(f"/training/people/{a.id}/external/decide",
                       {"entry": entry.id, "decision": "approve", "back": "record"})
    assert resp.status_code == 422 and "不能审核自己录入" in resp.get_data(as_text=True)
    assert entries()[0].status == "pending"
    got = client.get(f"/training/people/{a.id}/evidence?entry={entry.id}")
    assert got.status_code == 200 and got.mimetype == "application/pdf" and got.data == PDF
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    got.close()
    client.logout()
    client.login("a_admin")
    resp = client.post(f"/training/people/{a.id}/external/decide",
                       {"entry": entry.id, "decision": "approve", "back": "queue"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/training/external")
    entry = entries()[0]
    assert (entry.status, entry.decided_by_id) == ("approved", world.a_admin.id)
    assert audited("training.external_approve") == 1
    resp = client.post(f"/training/people/{a.id}/external/decide",
                       {"entry": entry.id, "decision": "reject", "note": "重复", "back": "record"})
    assert resp.status_code == 422 and "已经审核过" in resp.get_data(as_text=True)
    html = client.get(f"/training/people/{a.id}/record").get_data(as_text=True)
    assert "<dd><strong>6.0</strong></dd>" in html


def test_trainee_entry_rejection_needs_a_reason(client, world):
    client.login(world.trainee.username)
    resp = client.post("/training/my-record/external/new", form())
    assert resp.status_code == 200 and "请上传培训证明" in resp.get_data(as_text=True)
    resp = client.post("/training/my-record/external/new", form(evidence=(png(), "证书.png")))
    assert resp.status_code == 302
    [entry] = entries()
    assert entry.submitted_by_id == world.trainee.id and entry.status == "pending"
    assert client.post(f"/training/people/{world.person_a.id}/external/decide",
                       {"entry": entry.id, "decision": "approve"}).status_code == 403
    client.logout()
    client.login("a_hr")
    html = client.get("/training/external").get_data(as_text=True)
    assert "社会救助政策专题" in html and "李四" in html
    resp = client.post(f"/training/people/{world.person_a.id}/external/decide",
                       {"entry": entry.id, "decision": "reject", "note": "  ", "back": "queue"})
    assert resp.status_code == 422 and "不通过时请写明原因" in resp.get_data(as_text=True)
    resp = client.post(f"/training/people/{world.person_a.id}/external/decide",
                       {"entry": entry.id, "decision": "reject", "note": "证明不清晰，请重拍",
                        "back": "record"})
    assert resp.status_code == 302 and entries()[0].status == "rejected"
    assert audited("training.external_reject") == 1
    client.logout()
    client.login(world.trainee.username)
    html = client.get("/training/my-record").get_data(as_text=True)
    assert "未通过" in html and "证明不清晰，请重拍" in html
    assert "<dd><strong>0.0</strong></dd>" in html


def test_services_refuse_self_approval_and_second_decisions(world):
    hr_person = make_person(world.town_a, "赵六", post_type=PostType.TOWNSHIP_STAFF.value)
    hr_self = make_user("hr_self", world.county_a, [("hr", world.county_a)], person=hr_person)
    entry = external(hr_person, "本人专题", "4", "pending", by=world.a_admin)
    with pytest.raises(NotAllowed):
        records.decide_external(entry, True, "", actor=hr_self, now=utcnow())
    records.decide_external(entry, True, "", actor=world.a_hr, now=utcnow())
    with pytest.raises(InvalidState):
        records.decide_external(entry, False, "x", actor=world.a_hr, now=utcnow())
    with pytest.raises(NotAllowed):
        records.decide_external(external(world.person_b, "乙县", "2", "pending"), True, "",
                                actor=world.a_hr, now=utcnow())
    store = records.EvidenceStore.from_config({
        "UPLOAD_DIR": "/nonexistent", "UPLOAD_MAX_IMAGE_BYTES": 1, "UPLOAD_MAX_PDF_BYTES": 1,
        "UPLOAD_MAX_IMAGE_PIXELS": 1})
    data = records.ExternalData("专题", "平台", Decimal("2"), date(2025, 1, 1))
    with pytest.raises(NotAllowed):  # a trainee records only for themselves
        records.record_external(world.person_b, data, store=store, actor=world.trainee,
                                now=utcnow(), today=today(), self_service=True)
    with pytest.raises(ValidationFailed):
        records.record_external(world.person_a, records.ExternalData(
            "专题", "平台", Decimal("NaN"), date(2025, 1, 1)), store=store, actor=world.a_hr,
            now=utcnow(), today=today())


# ---------------------------------------------------------------- own record and scope


def test_trainee_sees_only_their_own_record(client, world):
    b_entry = external(world.person_b, "乙县专题", "2", "approved")
    b_entry.evidence_name = "x" * 32
    b_entry.evidence_original = "b.pdf"
    complete(world.person_b, VA, years_ago(1), title="乙县轮训班")
    db.session.commit()
    client.login(world.trainee.username)
    html = client.get("/training/my-record").get_data(as_text=True)
    assert "李四" in html and "王五" not in html and "乙县" not in html
    assert "/training/my-record" in html
    for pid in (world.person_a.id, world.person_b.id):
        assert client.get(f"/training/people/{pid}/record").status_code == 403
    assert client.get(f"/training/my-record/evidence?entry={b_entry.id}").status_code == 404
    client.logout()
    client.login("a_hr")  # an account without a person has no own record
    assert client.get("/training/my-record").status_code == 404
    assert client.get("/training/my-record/external/new").status_code == 404


def test_out_of_scope_is_404(client, world):
    b_entry = external(world.person_b, "乙县专题", "2", "pending")
    db.session.commit()
    client.login("a_hr")
    pid = world.person_b.id
    for url in (f"/training/people/{pid}/record", f"/training/people/{pid}/evidence?entry=1",
                f"/training/people/{pid}/external/new"):
        assert client.get(url).status_code == 404, url
    for url in (f"/training/people/{pid}/external/new", f"/training/people/{pid}/external/decide"):
        resp = client.post(url, {"entry": b_entry.id, "decision": "approve", **form()})
        assert resp.status_code == 404, url
    html = client.get("/training/external").get_data(as_text=True)
    assert "乙县专题" not in html and "王五" not in html
    book = load_workbook(io.BytesIO(client.get("/training/external/export.xlsx").data),
                         read_only=True)
    assert len(list(book.worksheets[0].iter_rows(values_only=True))) == 1
    assert entries()[0].status == "pending"
    client.logout()
    client.login("b_admin")
    html = client.get("/training/external").get_data(as_text=True)
    assert "乙县专题" in html


def test_evidence_of_another_person_is_not_found(client, world):
    b_entry = external(world.person_b, "乙县专题", "2", "pending")
    db.session.commit()
    client.login("city_admin")
    url = f"/training/people/{world.person_a.id}/evidence?entry={b_entry.id}"
    assert client.get(url).status_code == 404
    assert client.get(f"/training/people/{world.person_a.id}/evidence").status_code == 302


# ---------------------------------------------------------------- uploads and hostile input


HOSTILE_FILES = [
    ("evil.pdf", b"MZ\x90\x00\x03\x00\x00\x00"), ("x.svg", b"<svg onload=alert(1)></svg>"),
    ("x.html", b"<script>alert(1)</script>"), ("cert.pdf.exe", PDF), ("cert.png", b"GIF89a;;"),
    ("empty.pdf", b""), ("../../etc/passwd.pdf", PDF), ("..\\x.pdf", PDF),
    ("js.pdf", PDF + b"<< /S /JavaScript /JS (app.alert(1)) >>"),
    ("hex.pdf", PDF + b"<< /S /Java#53cript >>"), ("noext", PDF), (".pdf", PDF),
    ("clip.mp4", b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"),
    ("broken.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 40), ("x.gif", b"GIF89a\x01\x00\x01\x00"),
    ("a%2e%2epdf.pdf", PDF),
    ("x.docx", b"PK\x03\x04"), ("x.php.png", b"<?php echo 1; ?>"),
]


@pytest.mark.parametrize(("name", "content"), HOSTILE_FILES, ids=[n for n, _c in HOSTILE_FILES])
def test_bad_uploads_are_refused_with_nothing_on_disk(client, world, uploads_dir, name, content):
    client.login(world.trainee.username)
    resp = client.post("/training/my-record/external/new", form(evidence=(content, name)))
    assert resp.status_code == 200, name
    html = resp.get_data(as_text=True)
    assert 'id="evidence-err"' in html or 'class="error"' in html
    assert entries() == [] and files_on_disk(uploads_dir) == []


def test_oversize_evidence_is_refused(app, client, world, uploads_dir):
    store = records.EvidenceStore.from_config(app.config)
    assert store.limits.pdf_bytes == store.limits.image_bytes == 10 * 1024 * 1024
    assert store.folder == uploads_dir / "evidence"
    app.config["UPLOAD_MAX_PDF_BYTES"] = 100
    client.login(world.trainee.username)
    resp = client.post("/training/my-record/external/new",
                       form(evidence=(PDF + b"0" * 200, "big.pdf")))
    assert "文件太大" in resp.get_data(as_text=True)
    assert entries() == [] and files_on_disk(uploads_dir) == []


HOSTILE = ["", "-1", "0", "1e9", "NaN", "Infinity", "-Infinity", "abc", "0.05", "12.34",
           "99999999999999999999999", "<script>alert(1)</script>", "' OR 1=1 --", "\u202e",
           "=cmd|'/c calc'!A1", "x" * 5000, "2099-01-01", "1900-01-01", "2025-02-30"]


def test_hostile_form_values_never_give_500(client, world):
    client.login("a_hr")
    pid = world.person_a.id
    for value in HOSTILE:
        for key in ("title", "provider", "credit_hours", "completed_on"):
            data = form(evidence=(PDF, "ok.pdf"))
            data[key] = value
            resp = client.post(f"/training/people/{pid}/external/new", data)
            assert resp.status_code < 500, (key, value)
        for key in ("entry", "decision", "note", "back"):
            data = {"entry": "1", "decision": "approve", "note": "", "back": "record", key: value}
            resp = client.post(f"/training/people/{pid}/external/decide", data)
            assert resp.status_code < 500, (key, value)
        assert client.get(f"/training/people/{pid}/evidence",
                          query_string={"entry": value}).status_code < 500
        assert client.get("/training/external", query_string={"page": value}).status_code < 500
    bad = [e for e in entries() if e.credit_hours <= 0 or e.credit_hours > Decimal("999.9")
           or e.completed_on > today()]
    assert bad == []
