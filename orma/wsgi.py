import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orma.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules: ~150,000 objects) lives as long as the process. Moved
# out of the collector's sight, a full collection no longer walks all of it: one took 91 ms in a worker, a stall
# that every request queued behind it waited out (the create's p99 at half load); frozen, the longest is ~1.5 ms.
gc.freeze()
