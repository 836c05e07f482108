"""``python -m monitor user ...``: accounts from the command line (the first start, too).

There is no default password: the first administrators are created here, by whoever can
run commands as the service account on the ledger's machine. Each of the three
administrators (三员) is its own account::

    python -m monitor user create sysadmin --role system_admin
    python -m monitor user create secadmin --role security_admin
    python -m monitor user create auditor --role audit_admin

- ``user create NAME --role R [--role R] [--department CODE] [--display-name N]``: asks
  for the password twice (or reads one line with ``--password-stdin``); for a role that
  needs a second factor it prints the TOTP key, its otpauth:// URI and a QR code.
- ``user create NAME --role zone_collector --zone Z``: a zone collector is bound to one
  zone; the center refuses its tokens' deliveries for any other (``user grant`` takes
  ``--zone`` too).
- ``user list``; ``user grant NAME --role R... [--department CODE]`` (no ``--role``: none);
  ``user passwd NAME [--must-change]``; ``user unlock NAME``, ``user unlock --address A``;
  ``user disable|enable NAME``; ``user reset-totp NAME``.
- ``user token create NAME --role R... [--days N] [--name T]`` prints a bearer token once;
  ``user token list [NAME]``; ``user token revoke ID``.

Every change is recorded in the audit chain with the actor ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from monitor.config import Settings
from monitor.timetext import local_time

EXIT_REFUSED = 1


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    """Add ``user`` to the command parser."""
    user = sub.add_parser("user", parents=[common], help="accounts, roles and API tokens")
    actions = user.add_subparsers(dest="action", required=True)
    roles = argparse.ArgumentParser(add_help=False)
    roles.add_argument("--role", action="append", default=[], help="role (repeatable)")
    roles.add_argument("--department", metavar="CODE", help="department scope")
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from one line of standard input")
    zone = argparse.ArgumentParser(add_help=False)
    zone.add_argument("--zone", help="the one network zone a zone_collector delivers for")
    create = actions.add_parser("create", parents=[common, roles, secret, zone])
    create.add_argument("name")
    create.add_argument("--display-name")
    actions.add_parser("list", parents=[common])
    grant = actions.add_parser("grant", parents=[common, roles, zone])
    grant.add_argument("name")
    passwd = actions.add_parser("passwd", parents=[common, secret])
    passwd.add_argument("name")
    passwd.add_argument("--must-change", action="store_true",
                        help="the holder must change it at the next login")
    unlock = actions.add_parser("unlock", parents=[common])
    unlock.add_argument("name", nargs="?")
    unlock.add_argument("--address")
    for name in ("disable", "enable", "reset-totp"):
        actions.add_parser(name, parents=[common]).add_argument("name")
    token = actions.add_parser("token", parents=[common])
    token_actions = token.add_subparsers(dest="token_action", required=True)
    token_create = token_actions.add_parser("create", parents=[common, roles])
    token_create.add_argument("name")
    token_create.add_argument("--days", type=int, default=90)
    token_create.add_argument("--token-name", default="cli")
    token_actions.add_parser("list", parents=[common]).add_argument("name", nargs="?")
    token_actions.add_parser("revoke", parents=[common]).add_argument("id", type=int)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a ``user`` command."""
    from ledger.db import Ledger
    from ledger.identity.crypto import SecretBox, load_or_create_key
    from ledger.identity.policy import PolicyError
    from ledger.identity.service import Context, IdentityService
    from ledger.identity.sessions import SessionService

    ledger = Ledger(settings.ledger_url)
    try:
        identity = IdentityService(
            ledger.engine, policy=settings.security.policy, algorithm=settings.audit_chain,
            box=SecretBox(load_or_create_key(settings.security.key_file)))
        sessions = SessionService(identity)
        ctx = Context(f"cli:{getpass.getuser()}", "cli")
        try:
            _warn_unknown_zone(args, {t.zone for t in settings.targets})
            return _dispatch(args, identity, sessions, ctx, settings.language,
                             settings.timezone)
        except PolicyError as exc:
            print(f"错误 (error): {exc.text(settings.language)}", file=sys.stderr)
            return EXIT_REFUSED
    finally:
        ledger.close()


def _dispatch(args, identity, sessions, ctx, language: str, timezone: str) -> int:
    action = args.action
    if action == "create":
        return _create(args, identity, ctx)
    if action == "list":
        return _list(identity)
    if action == "grant":
        _check_zone(args, identity.user(args.name).zone if args.zone is None else args.zone)
        identity.grant(ctx, args.name, set(args.role), args.department)
        if args.zone is not None:
            identity.bind_zone(ctx, args.name, args.zone)
    elif action == "passwd":
        identity.set_password(ctx, args.name, _password(args), must_change=args.must_change)
    elif action == "unlock":
        if not args.name and not args.address:
            print("错误 (error): name a user or --address", file=sys.stderr)
            return 2
        identity.unlock(ctx, username=args.name, address=args.address)
    elif action in ("disable", "enable"):
        identity.set_disabled(ctx, args.name, action == "disable")
    elif action == "reset-totp":
        identity.reset_totp(ctx, args.name)
    elif action == "token":
        return _token(args, sessions, ctx, timezone)
    print("OK")
    return 0


def _warn_unknown_zone(args, zones: set[str]) -> None:
    """A zone no configured target has is most likely a typo (its deliveries would be
    refused): say so, without refusing (the targets may be configured later)."""
    zone = getattr(args, "zone", None)
    if zone is not None and zone not in zones:
        print(f"警告 (warning): no configured target has zone {zone!r} (zones: "
              f"{', '.join(sorted(zones)) or '-'})", file=sys.stderr)


def _check_zone(args, zone: str | None) -> None:
    """A zone collector is bound to exactly one zone (``--zone``); no other role takes one."""
    from ledger.identity.policy import PolicyError
    collector = "zone_collector" in args.role
    if collector and not zone:
        raise PolicyError("zone_required")
    if args.zone is not None and not collector:
        raise PolicyError("zone_refused")


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("口令 (password): ")
    if getpass.getpass("再次输入 (repeat): ") != first:
        raise SystemExit("错误 (error): the two passwords differ")
    return first


def _create(args, identity, ctx) -> int:
    from ledger.identity.policy import PolicyError
    from ledger.identity.roles import check_grant
    check_grant(set(args.role), args.department)
    _check_zone(args, args.zone)
    password = _password(args)
    problems = identity.policy.password_problems(password, args.name)
    if problems:
        raise PolicyError(problems[0][0], **problems[0][1])
    identity.create_user(ctx, args.name, password=password, display_name=args.display_name,
                         must_change_password=False)
    identity.grant(ctx, args.name, set(args.role), args.department)
    if args.zone is not None:
        identity.bind_zone(ctx, args.name, args.zone)
    user = identity.user(args.name)
    print(f"created {user.username}: roles {', '.join(sorted(user.roles)) or '-'}; "
          f"department {user.department or '-'}"
          + (f"; zone {user.zone}" if user.zone else ""))
    if identity.needs_totp(user):
        _print_totp(identity, ctx, user.username)
    return 0


def _print_totp(identity, ctx, username: str) -> None:
    import segno
    secret = identity.new_totp_secret()
    identity.set_totp_secret(ctx, username, secret)
    uri = identity.totp_uri(username, secret)
    print("This role needs a second factor (TOTP). Add it to an authenticator app now;")
    print("it is not shown again (reset with 'user reset-totp').")
    print(f"key: {secret}\nuri: {uri}")
    segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)


def _list(identity) -> int:
    for user in identity.users():
        state = "disabled" if user.disabled else "enabled"
        zone = f"\tzone={user.zone}" if user.zone else ""
        print(f"{user.username}\t{user.source}\t{','.join(sorted(user.roles)) or '-'}\t"
              f"{user.department or '-'}\ttotp={'yes' if user.totp else 'no'}\t{state}{zone}")
    return 0


def _token(args, sessions, ctx, timezone: str) -> int:
    if args.token_action == "create":
        user = sessions.identity.user(args.name)
        value = sessions.create_token(ctx, args.name, args.token_name, set(args.role),
                                      user.department, args.days * 86400.0)
        print(value)
    elif args.token_action == "list":
        for t in sessions.tokens(args.name):
            state = "revoked" if t.revoked_at else \
                f"expires {local_time(t.expires_at, timezone)}"
            print(f"{t.id}\t{t.prefix}…\t{t.username}\t{','.join(t.roles)}\t"
                  f"{t.department or '-'}\t{t.name}\t{state}")
    else:
        sessions.revoke_token(ctx, args.id)
        print("OK")
    return 0
