"""Assemble the emulator: settings -> profile, store, routes, provisioning."""

from . import api_alerting
from . import api_apis
from . import api_core
from . import api_dashboards
from . import api_folders
from . import api_datasources
from . import api_query
from . import api_reports
from . import api_serviceaccounts
from . import provisioning
from .profiles import Profile
from .server import App, EmulatorServer
from .store import Store


def build_app(settings):
    profile = Profile(settings.version, settings.feature_toggles)
    store = Store(settings.data_file)
    app = App(settings, profile, store)
    # one module per line: other work registers its own API modules here
    for module in (
        api_core,
        api_datasources,
        api_folders,
        api_dashboards,
        api_apis,
        api_serviceaccounts,
        api_query,
        api_alerting,
        provisioning,
        api_reports,  # Enterprise edition only (api_reports.edition)
    ):
        module.register(app)
    with store.lock:
        api_core.bootstrap(store, settings)
        if settings.provisioning:
            app.provisioning_errors = provisioning.apply(app)
        store.save()
    return app


def make_server(settings):
    app = build_app(settings)
    server = EmulatorServer((settings.host, settings.port), app)
    return server
