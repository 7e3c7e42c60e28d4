"""Assemble the emulator: settings -> profile, store, routes, provisioning."""

from . import api_alerting, api_core, api_dashboards, api_datasources, api_query, api_serviceaccounts, provisioning
from . import api_reports
from .profiles import Profile
from .server import App, EmulatorServer
from .store import Store


def build_app(settings):
    profile = Profile(settings.version, settings.feature_toggles)
    store = Store(settings.data_file)
    app = App(settings, profile, store)
    for module in (api_core, api_datasources, api_dashboards, api_serviceaccounts, api_query, api_alerting,
                   provisioning):
        module.register(app)
    api_reports.register(app)  # Enterprise edition only (api_reports.edition)
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
