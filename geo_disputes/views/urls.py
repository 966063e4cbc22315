"""HTML routes of the case pages, queues and agenda (included at the site root by geo_disputes.urls)."""

from django.urls import path

from . import attachments, cases, documents, exchange, follow_ups, leaders, queues

urlpatterns = [
    path("cases/", cases.case_list, name="case-list"),
    path("cases/new/", cases.case_new, name="case-new"),
    path("cases/export.csv", cases.case_export, name="case-export"),
    path("cases/go/", cases.case_go, name="case-go"),
    path("cases/<str:reference>/", cases.case_detail, name="case-detail"),
    path("cases/<str:reference>/exchange.zip", exchange.package, name="case-exchange"),
    path("cases/<str:reference>/actions/", cases.case_action, name="case-action"),
    path("cases/<str:reference>/recusal/", cases.case_recusal, name="case-recusal"),
    path("cases/<str:reference>/documents/", documents.documents, name="case-documents"),
    path("cases/<str:reference>/attachments/", attachments.add, name="case-attachment-add"),
    path("cases/<str:reference>/attachments/<str:pk>/remove/", attachments.remove, name="case-attachment-remove"),
    path("cases/<str:reference>/documents/<str:number>.<str:fmt>", documents.download, name="case-document-file"),
    path("cases/<str:reference>/documents/<str:number>/service/", documents.serve, name="case-document-service"),
    path("queues/", queues.my_queue, name="queue-mine"),
    path("queues/<str:unit_code>/", queues.unit_queue_page, name="queue-unit"),
    path("agenda/", queues.agenda, name="agenda"),
    path("agenda/minutes/", leaders.agenda_minutes, name="agenda-minutes"),
    path("agenda/minutes.docx", leaders.agenda_minutes_docx, name="agenda-minutes-docx"),
    path("follow-ups/", follow_ups.register, name="follow-up-register"),
    path("follow-ups/export.csv", follow_ups.export, name="follow-up-export"),
    path("leaders/", leaders.register, name="leader-register"),
    path("leaders/<int:pk>/close/", leaders.close, name="leader-case-close"),
    path("visits/", leaders.calendar, name="visit-calendar"),
    path("visits/<int:pk>/outcome/", leaders.visit_outcome, name="visit-outcome"),
]
