import os

from django.core.wsgi import get_wsgi_application

from changedesk.lib import heap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "changedesk.settings")
application = get_wsgi_application()
# What start-up loaded lives as long as the process: out of the collector's sight.
heap.settle()
