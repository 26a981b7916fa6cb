"""Signup, login, tokens and the team, on the real database."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from crm import identity
from crm.models import Session
from crm.permissions import effective_rights, with_rights
from shared.context import Principal
from shared.contracts.crm import MeSchema
from shared.errors import Conflict, Forbidden, Gone, NotFound, Unauthorized

ADDRESS = "203.0.113.5"


def principal_of(session: Session) -> Principal:
    return Principal(str(session.firm_id), str(session.user_id), "staff", str(session.id))


def test_signup_makes_a_firm_whose_owner_is_logged_in(db):
    token, user, firm = identity.signup(db, "Acme CPA", "Ann", "Ann@Acme.example", "correct horse battery")
    session, who, _ = identity.authenticate(db, token)
    assert who.id == user.id and user.firm_id == firm.id
    assert user.role == "owner" and user.email == "ann@acme.example"


def test_an_email_with_a_login_elsewhere_may_sign_up_another_firm(db, owner):
    _, user, firm = identity.signup(db, "Other", "X", "OLIVE@a.example", "another long password")
    assert firm.id != owner.firm_id and user.email == owner.email


def test_tokens_are_stored_only_as_hashes(db):
    token, _, _ = identity.signup(db, "F", "N", "n@f.example", "correct horse battery")
    stored = db.scalars(select(Session.token_hash)).all()
    assert token not in stored and identity.hash_token(token) in stored
    assert len(token) >= 43  # 256 bits, base64url


def login(db, email, password, firm_id=None, address=ADDRESS, **kwargs):
    return identity.login(db, email, password, address, firm_id, **kwargs)


def test_login_with_the_right_password_opens_a_new_session(db, owner):
    outcome = login(db, "olive@A.example", "correct horse battery")
    assert outcome.user.id == owner.id and outcome.firms == []
    assert identity.authenticate(db, outcome.token)[1].id == owner.id


@pytest.mark.parametrize("email,password", [("olive@a.example", "wrong"), ("nobody@a.example", "x")])
def test_login_failures_do_not_say_which_part_was_wrong(db, owner, email, password):
    with pytest.raises(Unauthorized) as failure:
        login(db, email, password)
    assert str(failure.value) == "Wrong email or password."


def test_a_password_that_opens_two_firms_gets_their_list_and_no_session(db, owner):
    _, _, other = identity.signup(db, "Zeta Firm", "Olive", "olive@a.example", "correct horse battery")
    sessions = db.scalar(select(func.count()).select_from(Session))
    outcome = login(db, "olive@a.example", "correct horse battery")
    assert outcome.token is None and outcome.user is None
    assert [f.id for f in outcome.firms] == [owner.firm_id, other.id]  # by name: Firm A, Zeta Firm
    assert db.scalar(select(func.count()).select_from(Session)) == sessions
    chosen = login(db, "olive@a.example", "correct horse battery", firm_id=other.id)
    assert chosen.user.firm_id == other.id and identity.authenticate(db, chosen.token)[1].id == chosen.user.id


def test_naming_a_firm_where_the_password_does_not_open_is_unauthorized(db, owner, other_owner):
    identity.signup(db, "Zeta Firm", "Olive", "olive@a.example", "a different password")
    with pytest.raises(Unauthorized):
        login(db, "olive@a.example", "correct horse battery", firm_id=other_owner.firm_id)
    # Only one of the two logins opens with this password: straight in, no list.
    assert login(db, "olive@a.example", "correct horse battery").user.id == owner.id


def test_an_invited_login_in_another_firm_changes_nothing(db, owner, other_owner):
    identity.invite_team_member(db, other_owner, {"name": "O", "email": "olive@a.example", "role": "admin",
                                                  "rights": []})
    assert login(db, "olive@a.example", "correct horse battery").user.id == owner.id


def test_logout_stops_the_token_at_once(db):
    token, _, _ = identity.signup(db, "F", "N", "n@f.example", "correct horse battery")
    session = identity.authenticate(db, token).session
    identity.logout(db, principal_of(session))
    with pytest.raises(Unauthorized):
        identity.authenticate(db, token)


def test_logout_leaves_the_users_other_sessions_open(db, owner):
    first = login(db, "olive@a.example", "correct horse battery").token
    second = login(db, "olive@a.example", "correct horse battery").token
    identity.logout(db, principal_of(identity.authenticate(db, first)[0]))
    assert identity.authenticate(db, second)[1].id == owner.id


def test_unknown_token_is_unauthorized(db):
    with pytest.raises(Unauthorized):
        identity.authenticate(db, "not-a-token")


def test_owner_and_admins_have_every_right_employees_only_theirs(db, owner, employee_factory):
    employee = employee_factory("manage_documents")
    assert set(effective_rights(owner)) == {"manage_accounts", "manage_documents", "manage_billing",
                                            "view_all_accounts"}
    assert effective_rights(employee) == ["manage_documents"]


def test_invited_member_is_listed_but_cannot_log_in_yet(db, owner):
    member = identity.invite_team_member(db, owner, {"name": "Ivy", "email": "ivy@a.example", "role": "admin",
                                                     "rights": []})
    team, _ = identity.list_team(db, owner, 50, None)
    assert member.status == "invited" and member.id in [m.id for m in team]
    with pytest.raises(Unauthorized):
        login(db, "ivy@a.example", "")


def test_employees_cannot_invite(db, employee_factory):
    employee = employee_factory("manage_accounts", "view_all_accounts")
    with pytest.raises(Forbidden):
        identity.invite_team_member(db, employee, {"name": "X", "email": "x@a.example", "role": "employee",
                                                   "rights": []})


def test_inviting_an_address_with_a_login_in_another_firm_is_fine(db, owner, other_owner):
    member = identity.invite_team_member(db, owner, {"name": "B", "email": "Bob@b.example", "role": "admin",
                                                     "rights": []})
    assert member.status == "invited" and member.firm_id == owner.firm_id


def test_inviting_an_address_of_the_same_firm_is_a_conflict(db, owner):
    with pytest.raises(Conflict):
        identity.invite_team_member(db, owner, {"name": "O", "email": "OLIVE@a.example", "role": "admin",
                                                "rights": []})


def test_team_list_shows_only_the_callers_firm(db, owner, other_owner):
    team, _ = identity.list_team(db, owner, 50, None)
    assert [m.id for m in team] == [owner.id]


def test_another_firms_member_is_not_found(db, owner, other_owner):
    with pytest.raises(NotFound):
        identity.update_team_member(db, owner, other_owner.id, {"role": "admin"})


def test_owner_cannot_be_demoted_or_removed(db, owner):
    admin = identity.invite_team_member(db, owner, {"name": "A", "email": "adm@a.example", "role": "admin",
                                                    "rights": []})
    admin.status = "active"
    with pytest.raises(Conflict):
        identity.update_team_member(db, admin, owner.id, {"role": "employee"})
    with pytest.raises(Conflict):
        identity.remove_team_member(db, admin, owner.id)


def test_removing_a_member_ends_his_sessions(db, owner, employee_factory):
    employee = employee_factory()
    employee.password_hash = identity.hasher.hash("correct horse battery")
    token = login(db, employee.email, "correct horse battery").token
    identity.remove_team_member(db, owner, employee.id)
    with pytest.raises(Unauthorized):
        identity.authenticate(db, token)


def test_rights_change_applies_to_the_next_request(db, owner, employee_factory):
    employee = employee_factory()
    identity.update_team_member(db, owner, employee.id, {"rights": ["manage_billing", "manage_billing"]})
    db.expire_all()
    assert effective_rights(identity.current_user(db, Principal(str(owner.firm_id), str(employee.id), "staff")))\
        == ["manage_billing"]


def test_a_principal_of_another_firm_is_not_a_user(db, owner, other_owner):
    with pytest.raises(Unauthorized):
        identity.current_user(db, Principal(str(other_owner.firm_id), str(owner.id), "staff"))


def test_email_uniqueness_within_a_firm_is_enforced_by_the_database_too(db, owner):
    with pytest.raises(Exception, match="uq_users_firm_email"):
        db.execute(text("INSERT INTO users (id, firm_id, kind, email, name, rights, status) "
                        "VALUES (:i, :f, 'staff', 'OLIVE@A.EXAMPLE', 'x', '{}', 'active')"),
                   {"i": uuid.uuid4(), "f": owner.firm_id})


def test_me_shows_the_firm_and_the_rights_in_effect(db, owner):
    me = MeSchema().dump(with_rights(identity.current_user(db, Principal(str(owner.firm_id), str(owner.id), "staff"),
                                                           with_firm=True)))
    assert me["firm"]["name"] == "Firm A" and me["role"] == "owner"
    assert set(me["rights"]) == {"manage_accounts", "manage_documents", "manage_billing", "view_all_accounts"}


def test_accepting_an_invitation_sets_the_password_and_logs_in(db, owner):
    member = identity.invite_team_member(db, owner, {"name": "Ivy", "email": "ivy@a.example", "role": "admin",
                                                     "rights": []})
    token, user = identity.accept_invitation(db, owner.firm_id, member.id, "a good long password")
    assert user.status == "active" and identity.authenticate(db, token)[1].id == member.id
    assert login(db, "ivy@a.example", "a good long password").user.id == member.id


def test_an_invitation_works_once(db, owner):
    member = identity.invite_team_member(db, owner, {"name": "Ivy", "email": "ivy@a.example", "role": "admin",
                                                     "rights": []})
    identity.accept_invitation(db, owner.firm_id, member.id, "a good long password")
    with pytest.raises(Gone):
        identity.accept_invitation(db, owner.firm_id, member.id, "another long password")


def test_an_invitation_of_another_firm_is_gone(db, owner, other_owner):
    member = identity.invite_team_member(db, owner, {"name": "Ivy", "email": "ivy@a.example", "role": "admin",
                                                     "rights": []})
    with pytest.raises(Gone):
        identity.accept_invitation(db, other_owner.firm_id, member.id, "a good long password")


def test_an_invitation_link_issued_before_it_was_voided_is_gone_a_newer_one_works(db, owner):
    member = identity.invite_team_member(db, owner, {"name": "Ivy", "email": "ivy@a.example", "role": "admin",
                                                     "rights": []})
    issued = datetime.now(UTC)
    identity.void_invitations(member, issued + timedelta(seconds=1))
    with pytest.raises(Gone):
        identity.describe_invitation(db, owner.firm_id, member.id, issued)
    with pytest.raises(Gone):
        identity.accept_invitation(db, owner.firm_id, member.id, "a good long password", issued)
    later = issued + timedelta(seconds=2)
    assert identity.describe_invitation(db, owner.firm_id, member.id, later).id == owner.firm_id
    assert identity.accept_invitation(db, owner.firm_id, member.id, "a good long password", later)[1].status \
        == "active"


# -- sessions end when idle or old (injected clock) ------------------------------------------------------

POLICY = identity.SessionPolicy(idle=timedelta(hours=12), max_age=timedelta(days=30))


def use(db, token: str, now: datetime) -> identity.Authenticated:
    """A request with the token at `now`, as crm's authenticate entrypoint serves it."""
    bearer = identity.authenticate(db, token, now=now, policy=POLICY)
    if identity.touch_due(bearer.session, now):
        identity.touch(db, bearer.session, now)
    return bearer


def test_a_session_idle_for_longer_than_the_idle_time_is_refused(db, owner):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = login(db, owner.email, "correct horse battery", now=start).token
    assert use(db, token, start + timedelta(hours=11, minutes=59))
    # That use moved the idle time forward: 12 h after it, not after the login.
    assert use(db, token, start + timedelta(hours=23, minutes=58))
    with pytest.raises(Unauthorized):
        use(db, token, start + timedelta(hours=36))


def test_a_use_is_written_once_a_minute_at_most(db, owner):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = login(db, owner.email, "correct horse battery", now=start).token
    assert not identity.touch_due(use(db, token, start).session, start + timedelta(seconds=59))
    assert identity.touch_due(use(db, token, start).session, start + timedelta(minutes=1))


def test_authenticating_writes_nothing(db, owner):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = login(db, owner.email, "correct horse battery", now=start).token
    identity.authenticate(db, token, now=start + timedelta(hours=11), policy=POLICY)
    with pytest.raises(Unauthorized):  # no use was recorded: idle since the login
        identity.authenticate(db, token, now=start + timedelta(hours=12, minutes=1), policy=POLICY)


def test_a_session_older_than_its_maximum_age_is_refused_however_busy(db, owner):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = login(db, owner.email, "correct horse battery", now=start).token
    for hour in range(0, 30 * 24, 6):
        use(db, token, start + timedelta(hours=hour))
    with pytest.raises(Unauthorized):
        identity.authenticate(db, token, now=start + timedelta(days=30), policy=POLICY)


def test_the_idle_time_and_the_age_are_settings(db, owner):
    start = datetime(2030, 1, 1, tzinfo=UTC)
    token = login(db, owner.email, "correct horse battery", now=start).token
    short = identity.SessionPolicy(idle=timedelta(minutes=5), max_age=timedelta(hours=1))
    with pytest.raises(Unauthorized):
        identity.authenticate(db, token, now=start + timedelta(minutes=6), policy=short)
