"""``qimatch create-coordinator`` keeps the password off the command line (a prompt or
--password-stdin, as docker login does) and prints the authenticator's URI once."""

from __future__ import annotations

from pathlib import Path

import pyotp
from click.testing import CliRunner, Result

from web import cli

AREA = ["--area", "tower_hamlets"]


def run(tmp_path: Path, *args: str, stdin: str | None = None, totp: str = "true") -> Result:
    env = {
        "QIMATCH_DATA_DIR": str(tmp_path),
        "QIMATCH_SECRET_KEY": "k",
        "QIMATCH_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "QIMATCH_REQUIRE_TOTP": totp,
    }
    return CliRunner().invoke(cli.main, list(args), input=stdin, env=env)


def test_the_password_comes_from_standard_input_and_the_otpauth_uri_is_printed(tmp_path: Path) -> None:
    made = run(tmp_path, "create-coordinator", "--email", "lead@nhs.example", "--password-stdin", *AREA,
               stdin="a long passphrase\n")  # fmt: skip
    assert made.exit_code == 0, made.output
    uri = next(w for w in made.stdout.split() if w.startswith("otpauth://"))
    assert pyotp.parse_uri(uri).name == "lead@nhs.example"
    codes = [
        line.strip() for line in made.stdout.splitlines() if line.strip().count("-") == 2 and len(line.strip()) == 14
    ]
    assert len(codes) == 10
    assert "warning" not in made.stderr


def test_a_prompt_asks_twice_when_no_password_is_given(tmp_path: Path) -> None:
    made = run(tmp_path, "create-coordinator", "--email", "lead@nhs.example", *AREA,
               stdin="a long passphrase\na long passphrase\n", totp="false")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "created" in made.stdout and "otpauth://" not in made.stdout


def test_password_on_the_command_line_still_works_with_a_warning(tmp_path: Path) -> None:
    """Found: the password was only ever passed on the command line, visible in ps and history."""
    made = run(tmp_path, "create-coordinator", "--email", "lead@nhs.example", "--password", "a long passphrase", *AREA)
    assert made.exit_code == 0, made.output
    assert "visible to other users" in made.stderr


def test_a_short_or_common_password_is_refused_naming_it(tmp_path: Path) -> None:
    for bad in ("ten chars!", "qwerty123456"):
        made = run(tmp_path, "create-coordinator", "--email", "lead@nhs.example", "--password-stdin", *AREA,
                   stdin=f"{bad}\n")  # fmt: skip
        assert made.exit_code == 2 and "error: password:" in made.stderr


def test_reset_totp_gives_a_new_secret(tmp_path: Path) -> None:
    first = run(tmp_path, "create-coordinator", "--email", "lead@nhs.example", "--password-stdin", *AREA,
                stdin="a long passphrase\n")  # fmt: skip
    again = run(tmp_path, "reset-totp", "--email", "lead@nhs.example")
    assert again.exit_code == 0, again.output

    def secret(out: str) -> str:
        return str(pyotp.parse_uri(next(w for w in out.split() if w.startswith("otpauth://"))).secret)

    assert secret(first.stdout) != secret(again.stdout)
    assert run(tmp_path, "reset-totp", "--email", "nobody@nhs.example").exit_code == 2
