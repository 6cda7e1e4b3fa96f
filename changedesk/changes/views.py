"""Pages for requests for change. (Being written: see the pages work in progress.)"""

from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    raise NotImplementedError


my_work = change_list = change_export = change_create = _todo
change_detail = change_edit = change_act = change_print = _todo
