"""Command line and grafana.ini handling.

Two shapes are accepted:

* the emulator's own: ``--host H --port N --version X --admin-user U --admin-password-file F
  --provisioning DIR --data FILE --app-mode M --fault SPEC``;
* Grafana's (so the emulator can be ``grafana-server`` / ``grafana server`` in packages):
  ``[server] --config=/etc/grafana/grafana.ini --homepath=/usr/share/grafana --pidfile=F --packaging=deb
  cfg:default.paths.provisioning=/etc/grafana/provisioning cfg:default.paths.data=...``.

Settings precedence follows Grafana: built-in defaults < ini file < ``GF_<SECTION>_<KEY>`` environment
variables < ``cfg:`` command-line overrides; the emulator's own flags win over all of them.
"""

import configparser
import os
import re
import sys

from . import DEFAULT_GRAFANA_VERSION

DEFAULTS = {
    ("", "app_mode"): "production",
    ("server", "http_addr"): "",
    ("server", "http_port"): "3000",
    ("security", "admin_user"): "admin",
    ("security", "admin_password"): "admin",
    ("paths", "provisioning"): "conf/provisioning",
    ("paths", "data"): "data",
    ("auth.anonymous", "hide_version"): "false",
    ("feature_toggles", "enable"): "",
}

USAGE = """usage: python -m grafana_emulator [--host H] [--port N] [--version X.Y.Z] [--admin-user U]
       [--admin-password-file F] [--homepath DIR] [--config grafana.ini] [--provisioning DIR]
       [--data FILE.json] [--app-mode production|development] [--fault PREFIX:KIND:COUNT[:ARG]]...
       [cfg:default.<section>.<key>=<value>]...
  --port 0 picks a free port; the bound address is printed as "listening on http://H:P".
  Env: GF_SECURITY_ADMIN_PASSWORD, GF_SERVER_HTTP_PORT, GF_PATHS_PROVISIONING, ... (Grafana's GF_<SECTION>_<KEY>),
       GF_EMULATOR_VERSION (default Grafana version to emulate).
  KIND: error (ARG = status, default 503), slow (ARG = seconds), drop (connection closed without answer).
  -v alone prints the emulated version like `grafana-server -v` and exits."""


class ConfigError(Exception):
    pass


class Settings(object):
    def __init__(self):
        self.host = "127.0.0.1"
        self.port = 3000
        self.version = DEFAULT_GRAFANA_VERSION
        self.admin_user = "admin"
        self.admin_password = "admin"
        self.homepath = os.getcwd()
        self.config_file = None
        self.provisioning = None
        self.data_file = None
        self.app_mode = "production"
        self.hide_version = False
        self.feature_toggles = []
        self.faults = []
        self.pidfile = None


def _expand_ini_value(value):
    """grafana.ini values may use $__env{VAR} and $__file{path} (Grafana's setting expanders)."""

    def env(m):
        return os.environ.get(m.group(1), "")

    def file_(m):
        try:
            with open(m.group(1)) as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ConfigError("cannot read %s referenced in config: %s" % (m.group(1), exc.strerror))

    value = re.sub(r"\$__env\{([^}]*)\}", env, value)
    return re.sub(r"\$__file\{([^}]*)\}", file_, value)


def _normalise_args(argv):
    """Go's flag package accepts -flag, --flag, -flag=value and --flag=value."""
    out = []
    for arg in argv:
        if re.match(r"^-[A-Za-z][A-Za-z-]+(=.*)?$", arg) and arg != "-v":
            arg = "-" + arg
        out.append(arg)
    return out


def parse(argv, environ=None):
    """Return Settings, or raise ConfigError with a message naming the bad argument."""
    environ = os.environ if environ is None else environ
    argv = _normalise_args(list(argv))
    own = {}
    overrides = {}
    faults = []
    i = 0
    if argv and argv[0] == "server":  # `grafana server ...`
        argv = argv[1:]
    takes_value = {
        "--host",
        "--port",
        "--admin-user",
        "--admin-password-file",
        "--homepath",
        "--config",
        "--provisioning",
        "--data",
        "--app-mode",
        "--fault",
        "--pidfile",
        "--packaging",
        "--version",
    }
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            raise SystemExit(USAGE)
        if arg in ("-v", "-V") or (arg == "--version" and (i + 1 >= len(argv) or argv[i + 1].startswith("-") or argv[i + 1].startswith("cfg:"))):
            own["print_version"] = True
            i += 1
            continue
        if arg.startswith("cfg:"):
            m = re.match(r"^cfg:(?:default\.)?([^=]+)\.([^.=]+)=(.*)$", arg)
            if not m:
                m2 = re.match(r"^cfg:(?:default\.)?([^.=]+)=(.*)$", arg)
                if not m2:
                    raise ConfigError("invalid override %r (expected cfg:default.<section>.<key>=<value>)" % arg)
                overrides[("", m2.group(1))] = m2.group(2)
            else:
                overrides[(m.group(1), m.group(2))] = m.group(3)
            i += 1
            continue
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name not in takes_value:
                raise ConfigError("unknown option %s\n%s" % (name, USAGE))
            if not eq:
                if i + 1 >= len(argv):
                    raise ConfigError("option %s needs a value" % name)
                value = argv[i + 1]
                i += 1
            if name == "--fault":
                faults.append(value)
            else:
                own[name[2:].replace("-", "_")] = value
            i += 1
            continue
        raise ConfigError("unexpected argument %r\n%s" % (arg, USAGE))

    ini = {}
    if own.get("config"):
        parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=(";", "#"))
        parser.optionxform = str
        try:
            with open(own["config"]) as fh:
                parser.read_string("[__top__]\n" + fh.read(), source=own["config"])
        except OSError as exc:
            raise ConfigError("cannot read config file %s: %s" % (own["config"], exc.strerror))
        except configparser.Error as exc:
            raise ConfigError("invalid config file %s: %s" % (own["config"], exc))
        for section in parser.sections():
            for key, value in parser.items(section):
                ini[("" if section == "__top__" else section, key)] = value.strip().strip('"')

    def setting(section, key):
        env_name = "GF_%s_%s" % (section.upper().replace(".", "_").replace("-", "_"), key.upper()) if section else "GF_%s" % key.upper()
        if (section, key) in overrides:
            value = overrides[(section, key)]
        elif env_name in environ:
            value = environ[env_name]
        elif (section, key) in ini:
            value = ini[(section, key)]
        else:
            return DEFAULTS.get((section, key))
        return _expand_ini_value(value)

    s = Settings()
    s.pidfile = own.get("pidfile")
    s.config_file = own.get("config")
    s.homepath = own.get("homepath") or os.getcwd()
    s.version = own.get("version") or environ.get("GF_EMULATOR_VERSION") or DEFAULT_GRAFANA_VERSION
    s.print_version = bool(own.get("print_version"))
    s.app_mode = own.get("app_mode") or setting("", "app_mode") or "production"
    addr = setting("server", "http_addr")
    # Without a Grafana config the emulator is test infrastructure: loopback only unless told otherwise.
    s.host = own.get("host") or addr or ("0.0.0.0" if s.config_file else "127.0.0.1")
    port = own.get("port") or setting("server", "http_port")
    try:
        s.port = int(port)
        if not 0 <= s.port <= 65535:
            raise ValueError
    except ValueError:
        raise ConfigError("invalid port %r" % (port,))
    s.admin_user = own.get("admin_user") or setting("security", "admin_user")
    if own.get("admin_password_file"):
        try:
            with open(own["admin_password_file"]) as fh:
                s.admin_password = fh.read().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError("cannot read admin password file %s: %s" % (own["admin_password_file"], exc.strerror))
    else:
        s.admin_password = setting("security", "admin_password")
    if not s.admin_password:
        raise ConfigError("admin password is empty")
    prov = own.get("provisioning") or setting("paths", "provisioning")
    s.provisioning = prov if os.path.isabs(prov) else os.path.join(s.homepath, prov)
    if own.get("data"):
        s.data_file = own["data"]
    else:
        explicit_data = ("paths", "data") in overrides or "GF_PATHS_DATA" in environ or ("paths", "data") in ini
        if explicit_data:
            data_dir = setting("paths", "data")
            data_dir = data_dir if os.path.isabs(data_dir) else os.path.join(s.homepath, data_dir)
            s.data_file = os.path.join(data_dir, "grafana-emulator-state.json")
    s.hide_version = (setting("auth.anonymous", "hide_version") or "").lower() == "true"
    s.feature_toggles = [t for t in re.split(r"[\s,]+", setting("feature_toggles", "enable") or "") if t]
    for spec in faults:
        s.faults.append(parse_fault(spec))
    return s


def parse_fault(spec):
    """PREFIX:KIND:COUNT[:ARG] -> dict usable by FaultSwitches.add()."""
    parts = spec.split(":")
    if len(parts) < 3 or parts[1] not in ("error", "slow", "drop"):
        raise ConfigError("invalid --fault %r (expected PREFIX:error|slow|drop:COUNT[:ARG])" % spec)
    try:
        fault = {"path_prefix": parts[0], "kind": parts[1], "count": int(parts[2])}
        if len(parts) > 3:
            if parts[1] == "error":
                fault["status"] = int(parts[3])
            elif parts[1] == "slow":
                fault["seconds"] = float(parts[3])
    except ValueError:
        raise ConfigError("invalid number in --fault %r" % spec)
    return fault


def main_error(msg):
    sys.stderr.write("grafana_emulator: %s\n" % msg)
    return 2
