"""A read-only web page of the directory (public, like listClients): members, applications, services."""
from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlmodel import select

from gateway.models import Application, Member, Service
from kernel.db import UowDep

router = APIRouter(tags=["pages"])

_PAGE = """<!doctype html>
<html lang="lo"><head><meta charset="utf-8"><title>ລາຍຊື່ບໍລິການ · Service directory</title>
<style>body{{font-family:system-ui,'Noto Sans Lao',sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}}.off{{color:#999}}</style></head>
<body><h1>ລາຍຊື່ບໍລິການ <small>Service directory</small></h1>
<table><thead><tr><th>ສະມາຊິກ · Member</th><th>ແອັບພລິເຄຊັນ · Application</th><th>ບໍລິການ · Service</th>
<th>ສະຖານະ · State</th></tr></thead><tbody>{rows}</tbody></table></body></html>"""


@router.get("/directory", response_class=HTMLResponse)
def directory_page(uow: UowDep) -> HTMLResponse:
    rows = []
    members = uow.session.exec(select(Member).where(Member.status == "approved").order_by(Member.instance, Member.member_class, Member.code))
    for member in members:
        member_name = escape(f"{member.instance}/{member.member_class}/{member.code}") + (f"<br>{escape(member.name)}" if member.name else "")
        apps = uow.session.exec(select(Application).where(Application.member_id == member.id, Application.status == "approved")
                                .order_by(Application.code)).all()
        for app in apps:
            services = uow.session.exec(select(Service).where(Service.application_id == app.id, Service.status == "approved")
                                        .order_by(Service.code)).all()
            for service in services or [None]:
                code = escape(service.code) if service else "—"
                state = ("ເປີດ · enabled" if service.enabled else "ປິດ · disabled") if service else ""
                if service and service.data_agreement_id:
                    state += " · ຕ້ອງມີການຍິນຍອມ · consent-gated"
                css = ' class="off"' if service and not service.enabled else ""
                rows.append(f"<tr{css}><td>{member_name}</td><td>{escape(app.code)}</td><td>{code}</td><td>{state}</td></tr>")
    return HTMLResponse(_PAGE.format(rows="".join(rows)))
