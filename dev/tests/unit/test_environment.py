import base64
from pathlib import Path

from devstack import environment
from shared.config import Settings


def _other_than(default, name):
    if isinstance(default, bool):
        return "false" if default else "true"
    return {int: "12345", float: "1.5"}.get(type(default), f"value-of-{name}")


def test_every_setting_is_read_from_porta_and_its_upper_case_name(monkeypatch):
    # devstack.environment names each setting's variable by this rule; a new setting breaking it fails here.
    fields = environment.single_variable_fields()
    samples = {f.name: _other_than(getattr(Settings(), f.name), f.name) for f in fields}
    for f in fields:
        monkeypatch.setenv(environment.env_var(f.name), samples[f.name])
    settings = Settings()
    for f in fields:
        assert environment._as_env_value(getattr(settings, f.name)) == samples[f.name], f.name


def test_a_services_own_database_url_is_its_upper_case_name_and_db_url(monkeypatch):
    monkeypatch.setenv("PORTA_CRM_DB_URL", "postgresql+psycopg2://u@db.example/crm")
    assert Settings().db_url("crm") == "postgresql+psycopg2://u@db.example/crm"
    assert environment.porta_env()["PORTA_CRM_DB_URL"] == "postgresql+psycopg2://u@db.example/crm"
    assert "PORTA_DB_URLS" not in environment.porta_env()  # no variable of that name is read


def test_porta_env_makes_folders_absolute_under_the_var_dir(monkeypatch, tmp_path):
    for name in environment.DEVSTACK_DIRS:  # a test run sets them (porta_env fixture)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTA_VAR_DIR", "some/var")
    monkeypatch.setenv("PORTA_LINK_SEALING_KEY", "given")  # else porta_env would make some/var/ to keep one
    env = environment.porta_env()
    var_dir = environment.repo_root() / "some/var"
    assert env["PORTA_VAR_DIR"] == str(var_dir)
    assert env["PORTA_MAIL_DIR"] == str(var_dir / "mail")
    assert env["PORTA_LOG_DIR"] == str(var_dir / "log")
    assert all(Path(env[name]).is_absolute() for name in environment.DEVSTACK_DIRS)

    env = environment.porta_env({"PORTA_VAR_DIR": str(tmp_path), "PORTA_MAIL_DIR": str(tmp_path / "elsewhere")})
    assert env["PORTA_S3_DATA_DIR"] == str(tmp_path / "s3")
    assert env["PORTA_MAIL_DIR"] == str(tmp_path / "elsewhere")


def test_a_link_sealing_key_is_made_once_per_var_dir_unless_one_is_set(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTA_LINK_SEALING_KEY", raising=False)  # a test run sets one (porta_env fixture)
    key = environment.porta_env({"PORTA_VAR_DIR": str(tmp_path / "a")})["PORTA_LINK_SEALING_KEY"]
    assert len(base64.urlsafe_b64decode(key)) == 32  # a Fernet key
    assert environment.porta_env({"PORTA_VAR_DIR": str(tmp_path / "a")})["PORTA_LINK_SEALING_KEY"] == key
    kept = tmp_path / "a" / environment.LINK_SEALING_KEY_FILE
    assert kept.read_text().strip() == key and kept.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "a").iterdir()] == [kept.name]  # no temporary file left behind
    assert environment.porta_env({"PORTA_VAR_DIR": str(tmp_path / "b")})["PORTA_LINK_SEALING_KEY"] != key
    monkeypatch.setenv("PORTA_LINK_SEALING_KEY", "from-the-shell")
    assert environment.porta_env({"PORTA_VAR_DIR": str(tmp_path / "c")})["PORTA_LINK_SEALING_KEY"] == "from-the-shell"
    assert not (tmp_path / "c").exists()


def test_overrides_win_and_service_database_urls_can_be_left_out(monkeypatch):
    monkeypatch.setenv("PORTA_HTTP_PORT", "9999")
    monkeypatch.setenv("PORTA_CRM_DB_URL", "postgresql+psycopg2://postgres@127.0.0.1/developer_crm")
    assert environment.porta_env()["PORTA_HTTP_PORT"] == "9999"
    assert environment.porta_env({"PORTA_HTTP_PORT": "1"})["PORTA_HTTP_PORT"] == "1"
    assert "PORTA_CRM_DB_URL" in environment.porta_env()
    assert "PORTA_CRM_DB_URL" not in environment.porta_env(service_db_urls=False)


def test_porta_variables_outside_the_settings_pass_through(monkeypatch):
    monkeypatch.setenv("PORTA_GATEWAY_WORKERS", "3")
    assert environment.porta_env()["PORTA_GATEWAY_WORKERS"] == "3"


def test_child_processes_get_exactly_the_given_porta_variables(monkeypatch):
    monkeypatch.setenv("PORTA_STRAY", "from the shell")
    child = environment.process_env({"PORTA_HTTP_PORT": "1"})
    assert child["PORTA_HTTP_PORT"] == "1"
    assert "PORTA_STRAY" not in child
    assert "PATH" in child


def test_addresses_come_from_the_urls():
    env = environment.porta_env({
        "PORTA_DB_URL_TEMPLATE": "postgresql+psycopg2://u:p@db.example:6543/porta_{service}",
        "PORTA_AMQP_URI": "pyamqp://guest:guest@mq.example/vhost",
        "PORTA_S3_ENDPOINT": "127.0.0.1:9100",
    })
    assert environment.postgres_address(env) == ("db.example", 6543)
    assert environment.amqp_address(env) == ("mq.example", 5672)
    assert environment.s3_address(env) == ("127.0.0.1", 9100)
