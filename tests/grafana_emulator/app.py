"""Assemble the emulator: settings -> profile, store, routes, provisioning."""

from . import api_core, api_dashboards, api_datasources, api_query, api_serviceaccounts
from .profiles import Profile
from .server import App, EmulatorServer
from .store import Store


def build_app(settings):
    profile = Profile(settings.version, settings.feature_toggles)
    store = Store(settings.data_file)
    app = App(settings, profile, store)
    for module in (api_core, api_datasources, api_dashboards, api_serviceaccounts, api_query):
        module.register(app)
    try:
        from . import api_alerting
        api_alerting.register(app)
    except ImportError:   # pragma: no cover - while the module is being written
        pass
    with store.lock:
        api_core.bootstrap(store, settings)
        try:
            from . import provisioning
        except ImportError:   # pragma: no cover
            provisioning = None
        if provisioning is not None and settings.provisioning:
            app.provisioning_errors = provisioning.apply(app)
        store.save()
    return app


def make_server(settings):
    app = build_app(settings)
    server = EmulatorServer((settings.host, settings.port), app)
    return server
