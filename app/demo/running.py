"""A demo program under way: matched, accepted and weeks into its meetings, goals, feedback
and a concern, every step through the domain services as the person who would take it."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Enrollment, Feedback, GoalMilestone, Pairing, Program
from app.demo.organisation import _Person, _ProgramPlan
from app.domain import (
    checkins,
    concerns,
    feedback,
    goals,
    pairings,
    programs,
    reports,
)
from app.domain.actors import Actor
from app.domain.checkins import MeetingMode
from app.domain.matching import runs
from app.domain.programs import FocusArea, ProgramStatus
from app.domain.tokens import person_actor

# ---------------------------------------------------------------------------------------------
# A program under way: matched, accepted and ten weeks into its meetings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Session:
    """A meeting of a pairing: its topics and the shared notes the members wrote."""

    topics: tuple[str, ...]
    notes: str


#: First meetings: getting to know each other and agreeing how to work.
OPENING_SESSIONS = (
    _Session(
        ("ways of working",),
        "First session: introductions and how we want to work together. {mentee} walked through "
        "a typical week (back-to-back Teams calls and well over a hundred unread messages by "
        "Friday); {mentor} showed how their team runs almost everything in channels. We agreed "
        "to meet every two weeks, to work on {mentee}'s real tasks rather than demos, and that "
        "either of us says so when something is not useful.",
    ),
    _Session(
        ("ways of working",),
        "First session, mostly getting to know each other. {mentee} described how their team "
        "communicates today: e-mail for almost everything, a weekly meeting for status and files "
        "sent as attachments. {mentor} will start with whatever saves {mentee} the most time "
        "each week. Agreed: fortnightly, 45 to 60 minutes, real tasks only.",
    ),
    _Session(
        ("ways of working",),
        "Kick-off. We compared calendars (ouch) and {mentee} named three things they want from "
        "the circle: fewer meetings, faster answers from the team, and not feeling lost when "
        "people talk about AI. {mentor} wants to understand how decisions get made further up. "
        "Next time we start with {mentee}'s inbox.",
    ),
)
#: The meeting around the middle of the pairing, looking back and ahead.
HALFWAY_SESSIONS = (
    _Session(
        ("halfway review",),
        "Halfway check. Both happy with the rhythm. {mentee} asked for more hands-on practice "
        "and less showing; {mentor} asked to see how the leadership team decides which tools to "
        "buy. We will split the next sessions between the two.",
    ),
    _Session(
        ("halfway review",),
        "Halfway review. Went through our goals one by one: what is working, what is stuck and "
        "why. {mentee} says the team has noticed the change in how they communicate; {mentor} "
        "would like more time on their own goal in the second half. Keeping the fortnightly "
        "rhythm.",
    ),
)
SESSIONS = (
    _Session(
        ("Slack",),
        "Set up Slack together: a section for the five channels that matter, the all-company "
        "channels muted, notification keywords for {mentee}'s name and the team's project codes. "
        "{mentee} will try scheduled send, so that messages written late in the evening land at "
        "nine the next morning.",
    ),
    _Session(
        ("Slack", "hybrid work"),
        "Threads, huddles and status: when a thread beats a meeting, and how a huddle replaces a "
        "'quick call?' message. {mentee} will answer next week's status question in the team "
        "channel instead of calling the Monday meeting.",
    ),
    _Session(
        ("Microsoft Teams",),
        "Teams meeting hygiene: the agenda in the invite, a Loop component for live notes and "
        "actions, recording only when someone cannot make it. {mentee} will try it on the "
        "Thursday leadership sync.",
    ),
    _Session(
        ("Microsoft Teams", "hybrid work"),
        "Moved a fourteen-person group chat into a proper Teams channel, with tabs for the "
        "tracker and the shared files. {mentor} showed how to tag the channel instead of "
        "everyone, and how to pin the decisions so nobody has to scroll for them.",
    ),
    _Session(
        ("AI tools", "ChatGPT"),
        "Drafted {mentee}'s quarterly update with ChatGPT from a page of bullet points. The first "
        "draft was generic; with the audience, the tone and last quarter's update as an example "
        "it was nearly there. Talked through what never goes into an AI tool: customer names, "
        "salaries, anything under NDA.",
    ),
    _Session(
        ("prompt engineering", "ChatGPT"),
        "Prompt patterns: give it a role, the context, an example and the format you want back. "
        "{mentee} rewrote a vendor-comparison prompt three times and saw the answers sharpen each "
        "time. Started a shared page of prompts that worked.",
    ),
    _Session(
        ("AI tools",),
        "Meeting summaries with Copilot, tried on last week's steering-group recording. Useful "
        "for the outline, but it missed one decision and invented an owner for another. Our rule "
        "of thumb: check anything with a number, a name or a decision against the source.",
    ),
    _Session(
        ("Notion",),
        "Toured the product team's Notion wiki. {mentee} wants a one-page 'how to work with me' "
        "for new joiners; we drafted the outline together and {mentee} will fill it in before "
        "next time.",
    ),
    _Session(
        ("no-code automation",),
        "Built a small Power Automate flow that posts new customer escalations into the team "
        "channel. Took 25 minutes, most of them spent finding the right connector. {mentee} "
        "wants to try one for the weekly headcount report next.",
    ),
    _Session(
        ("LinkedIn",),
        "LinkedIn: {mentee}'s profile had not been touched in years. Rewrote the headline and "
        "the About section, and talked about posting once a month about the team's work instead "
        "of resharing press releases.",
    ),
    _Session(
        ("social media", "LinkedIn"),
        "How {mentor}'s friends and colleagues use social media for work: short videos, "
        "commenting rather than posting, and why a company page without faces gets ignored. "
        "{mentee} is curious but not ready to post yet; will draft something for {mentor} to "
        "look at first.",
    ),
    _Session(
        ("hybrid work",),
        "Async first: what a good written update looks like, and why 'got a minute?' messages "
        "stress people out. {mentee} will replace the Monday stand-up with a written update in "
        "the channel for a month and see how the team takes it.",
    ),
    _Session(
        ("Microsoft Teams", "AI tools"),
        "Searching instead of asking: {mentor} showed how to find a file, a decision or an old "
        "thread in seconds with search and Copilot in Teams. {mentee} reckons half of their "
        "'can you send me...' e-mails can go.",
    ),
)
#: The mentor's side of two-way learning, added to some sessions' notes.
RETURN_NOTES = (
    " In return, {mentee} walked {mentor} through how the tooling budget is approved and who "
    "signs it off.",
    " {mentee} shared how they prepare for a board update; {mentor} will borrow the structure "
    "for their next team demo.",
    " We spent the last ten minutes on {mentor}'s question about moving into a team-lead role.",
    " {mentee} offered to introduce {mentor} to the head of the data team for the analytics "
    "project.",
)
#: Sessions of a pairing that is not working out: short, and said politely.
STRAINED_SESSIONS = (
    _Session(
        ("Microsoft Teams",),
        "Short session; {mentee} joined late. Went through Teams notification settings, to be "
        "continued next time.",
    ),
    _Session(
        ("Slack",),
        "Looked at Slack channels again. {mentee} prefers e-mail for most things and is not "
        "convinced; we agreed to try one channel for one project.",
    ),
    _Session(
        ("ChatGPT",),
        "Rescheduled twice, then 30 minutes. Covered the basics of ChatGPT; {mentee} asked to "
        "keep to the essentials.",
    ),
    _Session(
        ("AI tools",),
        "Went through Copilot in Outlook. {mentee} took a call halfway through, so we did not "
        "get to the exercise.",
    ),
    _Session(
        ("hybrid work",),
        "Talked about written updates versus status meetings. We see this differently: {mentee} "
        "wants to keep the meeting. Agreed to park it for now.",
    ),
)
PRIVATE_NOTES = {
    "mentor": (
        "Felt nervous correcting a vice president on how channels work, but {mentee} took it "
        "really well. Keep going.",
        "My examples were too engineering-heavy. Bring something from {mentee}'s own area next "
        "time.",
        "{mentee} mentioned a team-lead opening in their area. Ask about it next session?",
        "Good session. Write down the prompts that worked so I can share them with my own team.",
    ),
    "mentee": (
        "I have been doing this the slow way for years. Worth every minute.",
        "Ask the team whether they would actually prefer a channel to the Friday e-mail before "
        "I switch.",
        "{mentor} was far better prepared than I was. Bring a real task next time, not a "
        "hypothetical one.",
        "Try the scheduled-send trick before the offsite; my late-night messages are not fair "
        "on the team.",
    ),
}
STRAINED_PRIVATE_NOTES = {
    "mentor": (
        "Felt more like an IT helpdesk than mentoring. {mentee} was on their phone for half of it.",
        "Not sure {mentee} wants to be here. Talk to the program team if it happens again.",
    ),
    "mentee": (
        "Too much, too fast. I need to see why this matters for my team before I learn the "
        "buttons.",
    ),
}
PRAISE = (
    "Practical, patient and on my real work. Exactly what I hoped for.",
    "Learned more in an hour than in the last vendor training.",
    "Really enjoyed this one; good questions from both sides.",
    "Good session. A bit more time to practise next time, please.",
    "Clear and to the point; I used it the same afternoon.",
    "Generous with their time and very open about how things work.",
)
COMPLAINTS = {
    "mentor": (
        "I am not sure these sessions are landing; my suggestions often get brushed aside.",
        "Sessions keep getting cut short.",
    ),
    "mentee": (
        "I don't feel we are working on anything that matters to my team yet.",
        "Felt rushed; we did not get to what I wanted to cover.",
    ),
}
CONCERN = (
    "In the last sessions {mentee} has mostly questioned whether their team needs these tools at "
    "all, and twice said I would understand once I have managed people. I don't mind a "
    "challenge, but it is starting to feel like I am there to be tested rather than to help. I "
    "would like advice on how to steer the sessions before we decide anything else."
)


@dataclass(frozen=True)
class _GoalPlan:
    title: str
    description: str
    focus_area: str
    milestones: tuple[str, ...]
    #: Topics that make the goal a likely one for a member (any goal will do otherwise).
    topics: tuple[str, ...] = ()


MENTEE_GOALS = (
    _GoalPlan(
        "Replace the Monday status meeting with a written update",
        "My team spends an hour every Monday reading out status. Move it to a written update in "
        "a channel and keep the meeting for decisions.",
        FocusArea.WORKPLACE_COMMUNICATION,
        (
            "Agree the format with the team",
            "Post the first written update",
            "Ask the team after four weeks whether it works",
        ),
        ("Slack", "Microsoft Teams", "hybrid work"),
    ),
    _GoalPlan(
        "Draft my reports with an AI assistant",
        "Use ChatGPT or Copilot for the first drafts of my monthly and quarterly reports, "
        "within the company's AI policy.",
        FocusArea.TECHNOLOGY_ADOPTION,
        (
            "Read the AI usage policy together with {mentor}",
            "Draft one monthly report with AI help",
            "Keep a small library of prompts that work",
        ),
        ("AI tools", "ChatGPT", "prompt engineering"),
    ),
    _GoalPlan(
        "Move my team's group chats into channels",
        "Too many decisions get lost in group chats. Set up channels the team can search, with "
        "the tracker and the files alongside.",
        FocusArea.WORKPLACE_COMMUNICATION,
        (
            "List the group chats I am in",
            "Move the project chat into a channel",
            "Archive the old group chats",
        ),
        ("Microsoft Teams", "Slack"),
    ),
    _GoalPlan(
        "Post on LinkedIn about my team's work",
        "Be visible for the team, not just through the company page: one post a month about "
        "something we shipped or learned.",
        FocusArea.WORKPLACE_COMMUNICATION,
        (
            "Refresh my profile headline and summary",
            "Write the first post and have {mentor} review it",
            "Publish three posts",
        ),
        ("LinkedIn", "social media"),
    ),
    _GoalPlan(
        "Automate one repetitive weekly report",
        "The weekly pipeline summary takes two hours every Friday; see whether a no-code flow "
        "can do most of it.",
        FocusArea.TECHNOLOGY_ADOPTION,
        (
            "Pick the report and list its steps",
            "Build the flow with {mentor}",
            "Hand it over to the team with a short guide",
        ),
        ("no-code automation", "Notion"),
    ),
    _GoalPlan(
        "Halve my internal e-mail",
        "Move internal conversations to the channels where they belong and keep e-mail for "
        "customers and partners.",
        FocusArea.WORKPLACE_COMMUNICATION,
        (
            "Count a normal week of internal e-mail",
            "Set up channel notifications I actually read",
            "Compare after six weeks",
        ),
        ("Slack", "Microsoft Teams", "hybrid work"),
    ),
    _GoalPlan(
        "Run hybrid meetings where remote people are heard",
        "In our hybrid meetings the room talks and the screen listens. Change how I run them so "
        "that everyone gets a say, wherever they sit.",
        FocusArea.WORKPLACE_COMMUNICATION,
        (
            "Ask three remote colleagues what it is like",
            "Try a shared agenda and a hand-raise rule",
            "Run the monthly all-hands the new way",
        ),
        ("hybrid work", "Microsoft Teams"),
    ),
    _GoalPlan(
        "Understand how my team uses AI tools day to day",
        "My team uses AI tools I have never opened. Learn enough to ask good questions and to "
        "set sensible guidelines with them.",
        FocusArea.TECHNOLOGY_ADOPTION,
        (
            "Try the three tools my team uses most",
            "Ask the team what they use them for",
            "Agree team guidelines together",
        ),
        ("AI tools", "ChatGPT", "prompt engineering"),
    ),
)
MENTOR_GOALS = (
    _GoalPlan(
        "Present a tool demo to a senior audience",
        "Practise presenting to leaders: short, outcome first, no jargon.",
        FocusArea.LEADERSHIP_DEVELOPMENT,
        (
            "Pick the topic with {mentee}",
            "Dry run with {mentee}",
            "Give the demo at a leadership meeting",
        ),
    ),
    _GoalPlan(
        "Understand how budget decisions are made",
        "See how a budget is put together and argued for, so that my own proposals land better.",
        FocusArea.LEADERSHIP_DEVELOPMENT,
        (
            "Walk through last year's budget with {mentee}",
            "Sit in on a planning review",
            "Write a one-page proposal for a tool my team needs",
        ),
    ),
    _GoalPlan(
        "Build my network outside my department",
        "Meet people in other parts of the company through {mentee}'s introductions.",
        FocusArea.LEADERSHIP_DEVELOPMENT,
        ("Meet three people {mentee} introduces me to", "Join one cross-team project"),
    ),
    _GoalPlan(
        "Write for senior readers",
        "Learn how leaders read: what they want in the first lines of a proposal, and what they "
        "skip.",
        FocusArea.LEADERSHIP_DEVELOPMENT,
        (
            "Have {mentee} mark up one of my proposals",
            "Rewrite it outcome first",
            "Send my next proposal in the new format",
        ),
    ),
)


class _Kind(StrEnum):
    """How a demo pairing is going."""

    HEALTHY = "healthy"
    QUIET = "quiet"  # met twice, then nothing: no recent check-in
    STRAINED = "strained"  # meets, but rates the sessions low


@dataclass
class _History:
    """What the running program's weeks left behind (for the summary)."""

    pairings: int = 0
    check_ins: int = 0
    private_notes: int = 0
    feedback: int = 0
    goals: int = 0
    goals_achieved: int = 0
    concerns: int = 0


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, dt_time(hour, minute), tzinfo=UTC)


@dataclass
class _Life:
    """What building a program's history needs at hand: the generator, the clock, the people."""

    session: AsyncSession
    rng: random.Random
    now: datetime
    employees: dict[uuid.UUID, Employee]
    people: dict[uuid.UUID, _Person]
    actors: dict[uuid.UUID, Actor] = field(default_factory=dict)
    history: _History = field(default_factory=_History)

    @property
    def today(self) -> date:
        return self.now.date()

    def past(self, moment: datetime) -> datetime:
        """The moment, or just now if it would be in the future."""
        return min(moment, self.now)

    async def actor(self, employee_id: uuid.UUID) -> Actor:
        """The signed-in person, as the API would build them."""
        if employee_id not in self.actors:
            self.actors[employee_id] = await person_actor(self.session, self.employees[employee_id])
        return self.actors[employee_id]


async def _match_and_go_live(
    life: _Life, program: Program, lead: Actor, started_on: date
) -> list[Pairing]:
    """The program manager matches the cohort; every member accepts their proposal; the
    program goes live. Then the rows are dated as if it happened on ``started_on``."""
    session, rng = life.session, life.rng
    await programs.transition_program(
        session, lead, program.id, to=ProgramStatus.MATCHING, expected_version=None
    )
    # What the API and the matching job do, in this one session: the job would commit the
    # claim and the result separately, and the demo loads in one transaction.
    run = await runs.start_run(session, lead, program_id=program.id, data=runs.MatchingRunCreate())
    await runs.claim_run(session, run.id)
    run = await runs.perform_run(session, lead, run.id, started=time.perf_counter())
    order = {str(p["pairing_id"]): i for i, p in enumerate(run.proposals)}
    stmt = select(Pairing).where(col(Pairing.matching_run_id) == run.id)
    proposed = sorted((await session.execute(stmt)).scalars(), key=lambda p: order[str(p.id)])
    accepted_after: dict[uuid.UUID, list[int]] = {}
    for pairing in proposed:
        members = [pairing.mentor_employee_id, pairing.mentee_employee_id]
        rng.shuffle(members)
        for member in members:
            await pairings.accept_pairing(
                session, await life.actor(member), pairing.id, expected_version=None
            )
        # When they accepted, in minutes after the run (within four days), in the order they
        # did; and whether the mentor was the first (0) or the second (1).
        accepted_after[pairing.id] = sorted(rng.sample(range(90, 4 * 24 * 60), 2))
        accepted_after[pairing.id].append(members.index(pairing.mentor_employee_id))
    await programs.transition_program(
        session, lead, program.id, to=ProgramStatus.ACTIVE, expected_version=None
    )

    # History: the services stamp everything "now"; a demo loader may say when it happened.
    # Enrolment opened five weeks before the run and people joined over the following month.
    run_at = _at(started_on, 9, 30)
    opened_at = run_at - timedelta(days=35)
    program.created_at = opened_at - timedelta(days=3)
    stmt_enrolled = (
        select(Enrollment)
        .where(col(Enrollment.program_id) == program.id)
        .order_by(col(Enrollment.id))
    )
    enrolled = list((await session.execute(stmt_enrolled)).scalars())
    joined_after = sorted(rng.randint(60, 30 * 24 * 60) for _ in enrolled)
    for enrollment, minutes in zip(enrolled, joined_after, strict=True):
        joined = opened_at + timedelta(minutes=minutes)
        enrollment.created_at = enrollment.updated_at = enrollment.consent_at = joined
    run.created_at = run_at
    run.started_at = run_at + timedelta(seconds=1)
    run.finished_at = run.updated_at = run_at + timedelta(seconds=2)
    last_live = run_at
    for pairing in proposed:
        first, second, mentor_position = accepted_after[pairing.id]
        times = [run_at + timedelta(minutes=first), run_at + timedelta(minutes=second)]
        if mentor_position == 1:
            times.reverse()
        pairing.created_at = run.finished_at
        pairing.mentor_accepted_at, pairing.mentee_accepted_at = times
        pairing.activated_at = pairing.updated_at = max(times)
        last_live = max(last_live, pairing.activated_at)
    program.updated_at = last_live + timedelta(hours=2)
    await session.flush()
    return proposed


def _check_in_days(life: _Life, pairing: Pairing, kind: _Kind) -> list[date]:
    """Working days about a fortnight apart from the first week on; a quiet pairing stops
    after two meetings."""
    assert pairing.activated_at is not None
    day = pairing.activated_at.date() + timedelta(days=life.rng.randint(3, 8))
    days: list[date] = []
    while True:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        if day > life.today or (kind is _Kind.QUIET and len(days) == 2):
            return days
        days.append(day)
        # A pairing that is not working out lets its meetings slip a little.
        gap = (14, 21) if kind is _Kind.STRAINED else (11, 17)
        day += timedelta(days=life.rng.randint(*gap))


def _sessions(rng: random.Random, kind: _Kind, wanted: set[str], count: int) -> list[_Session]:
    """What a pairing talks about, meeting by meeting: its members' topics first."""
    relevant = [s for s in SESSIONS if wanted.intersection(s.topics)]
    others = [s for s in SESSIONS if not wanted.intersection(s.topics)]
    rng.shuffle(relevant)
    rng.shuffle(others)
    later = relevant + others
    if kind is _Kind.STRAINED:
        later = list(STRAINED_SESSIONS)
        rng.shuffle(later)
    elif count > 4:
        later.insert(2, rng.choice(HALFWAY_SESSIONS))
    chosen = [rng.choice(OPENING_SESSIONS), *later]
    return [chosen[i % len(chosen)] for i in range(count)]


_DIMENSIONS = tuple(d.value for d in feedback.Dimension)
_ROLES = ("mentor", "mentee")


def _ratings(rng: random.Random, mood: str) -> feedback.Ratings:
    """A member's ratings of a meeting in a good, mixed or low mood."""
    if mood == "good":  # mostly 4 and 5
        return feedback.Ratings(**{d: rng.choices((3, 4, 5), (1, 4, 6))[0] for d in _DIMENSIONS})
    if mood == "mixed":
        return feedback.Ratings(**{d: rng.choice((3, 4)) for d in _DIMENSIONS})
    # Low: 2s, with at most one 3 and perhaps a 1, so that the trimmed mean of any three such
    # entries stays at or below the health check's 2.5 and the pairing shows as at risk.
    low = dict.fromkeys(_DIMENSIONS, 2)
    if rng.random() < 0.5:
        low[rng.choice(("value", "clarity"))] = 3
    if rng.random() < 0.4:
        low[rng.choice(("mutual_respect", "psychological_safety"))] = 1
    return feedback.Ratings(**low)


async def _meet(
    life: _Life, pairing: Pairing, kind: _Kind, days: list[date], wanted: set[str]
) -> None:
    """The members log their meetings (some with a private note) and rate many of them."""
    session, rng = life.session, life.rng
    members = {"mentor": pairing.mentor_employee_id, "mentee": pairing.mentee_employee_id}
    names = {role: life.people[member].given for role, member in members.items()}
    same_city = life.people[members["mentor"]].city is life.people[members["mentee"]].city
    for i, (day, plan) in enumerate(
        zip(days, _sessions(rng, kind, wanted, len(days)), strict=True)
    ):
        low = kind is _Kind.STRAINED and i > 0
        logger = "mentor" if rng.random() < 0.6 else "mentee"
        if same_city:
            mode = rng.choices(
                (MeetingMode.IN_PERSON, MeetingMode.VIDEO, MeetingMode.CHAT), (4, 5, 1)
            )[0]
        else:
            mode = rng.choices((MeetingMode.VIDEO, MeetingMode.CHAT), (9, 1))[0]
        if low:
            minutes = rng.choice((25, 30))
        elif mode is MeetingMode.CHAT:
            minutes = rng.choice((20, 30))
        else:
            minutes = rng.choice((30, 45, 45, 60, 60, 75))
        notes = plan.notes
        if kind is _Kind.HEALTHY and plan in SESSIONS and rng.random() < 0.4:
            notes += rng.choice(RETURN_NOTES)
        pool = STRAINED_PRIVATE_NOTES if low else PRIVATE_NOTES
        private = rng.choice(pool[logger]) if rng.random() < (0.5 if low else 0.25) else None
        check_in = await checkins.log_check_in(
            session,
            await life.actor(members[logger]),
            pairing.id,
            data=checkins.CheckInCreate(
                met_on=day,
                duration_minutes=minutes,
                mode=mode,
                topics=list(plan.topics),
                shared_notes=notes.format(**names),
                private_note=private.format(**names) if private else None,
            ),
        )
        # History: logged on the afternoon of the meeting.
        check_in.created_at = check_in.updated_at = life.past(
            _at(day, rng.randint(12, 18), rng.randint(0, 59))
        )
        life.history.check_ins += 1
        life.history.private_notes += private is not None
        for role in _ROLES:
            if kind is _Kind.STRAINED:
                chance = 0.7 if i == 0 else (1.0 if role == "mentor" else 0.5)
                mood = "mixed" if i == 0 else "low"
            else:
                chance, mood = (0.65, "good") if kind is _Kind.HEALTHY else (0.5, "mixed")
            if rng.random() >= chance:
                continue
            comment, shared = None, False
            if mood == "good" and rng.random() < 0.3:
                comment, shared = rng.choice(PRAISE), rng.random() < 0.5
            elif mood == "low" and rng.random() < 0.6:
                comment = rng.choice(COMPLAINTS[role])
            given = await feedback.give_feedback(
                session,
                await life.actor(members[role]),
                pairing.id,
                data=feedback.FeedbackCreate(
                    kind=feedback.FeedbackKind.CHECK_IN,
                    check_in_id=check_in.id,
                    ratings=_ratings(rng, mood),
                    comment=comment,
                    comment_visibility=feedback.CommentVisibility.PARTNER
                    if shared
                    else feedback.CommentVisibility.PROGRAM_TEAM,
                ),
            )
            entry = await session.get(Feedback, given.id)
            assert entry is not None
            # History: rated within a day and a half of logging the meeting.
            entry.created_at = life.past(
                check_in.created_at + timedelta(minutes=rng.randint(5, 36 * 60))
            )
            life.history.feedback += 1


def _goal_course(
    rng: random.Random, state: str, set_on: date, steps: int, *, today: date, worked_until: date
) -> tuple[str, date, int, date]:
    """Where a goal stands: its state, target date, milestones done and the day last worked on."""
    finished = set_on + timedelta(days=rng.randint(21, 45))
    if state == "achieved" and finished <= min(worked_until, today - timedelta(days=2)):
        return state, finished + timedelta(days=rng.randint(0, 21)), steps, finished
    if state == "late":
        return state, today - timedelta(days=rng.randint(4, 12)), 1, worked_until
    if state == "not_started":
        return state, today + timedelta(days=rng.randint(28, 70)), 0, set_on
    target = today + timedelta(days=rng.randint(14, 63))
    return "in_progress", target, rng.randint(1, steps - 1), worked_until


async def _set_goals(
    life: _Life, pairing: Pairing, kind: _Kind, days: list[date], wanted: set[str], *, late: bool
) -> None:
    """Goals of both members, set after the first meeting: some achieved, most under way with
    milestones ticked (by the owner or, as invited, the partner), one past its target if
    ``late``."""
    session, rng = life.session, life.rng
    members = {"mentor": pairing.mentor_employee_id, "mentee": pairing.mentee_employee_id}
    names = {role: life.people[member].given for role, member in members.items()}
    likely = [g for g in MENTEE_GOALS if wanted.intersection(g.topics)]
    if len(likely) < 2 or rng.random() < 0.3:
        likely = list(MENTEE_GOALS)
    chosen = [("mentee", g) for g in rng.sample(likely, rng.randint(1, 2))]
    if rng.random() < 0.6:
        chosen.append(("mentor", rng.choice(MENTOR_GOALS)))
    # A pairing that stopped meeting stopped working on its goals soon after.
    worked_until = life.today if kind is not _Kind.QUIET else days[-1] + timedelta(days=10)
    for n, (role, plan) in enumerate(chosen):
        if late and n == 0:
            state = "late"
        elif kind is _Kind.HEALTHY:
            state = rng.choices(("achieved", "in_progress", "not_started"), (35, 55, 10))[0]
        else:
            state = rng.choice(("in_progress", "not_started"))
        set_at = life.past(_at(days[0], rng.randint(17, 19), rng.randint(0, 59)))
        state, target, done, until = _goal_course(
            rng,
            state,
            set_at.date(),
            len(plan.milestones),
            today=life.today,
            worked_until=min(worked_until, life.today),
        )
        owner = await life.actor(members[role])
        partner = await life.actor(members["mentee" if role == "mentor" else "mentor"])
        goal = await goals.create_goal(
            session,
            owner,
            pairing.id,
            data=goals.GoalCreate(
                title=plan.title,
                description=plan.description.format(**names),
                focus_area=plan.focus_area,
                target_date=target,
                status=goals.GoalStatus.NOT_STARTED
                if state == "not_started"
                else goals.GoalStatus.IN_PROGRESS,
                milestones=[goals.MilestoneIn(title=m.format(**names)) for m in plan.milestones],
            ),
        )
        stmt = (
            select(GoalMilestone)
            .where(col(GoalMilestone.goal_id) == goal.id)
            .order_by(col(GoalMilestone.position))
        )
        ticked = list((await session.execute(stmt)).scalars())[:done]
        for stone in ticked:
            ticker = partner if rng.random() < 0.3 else owner
            await goals.set_milestone(
                session, ticker, goal.id, stone.id, done=True, expected_version=None
            )
        if state == "achieved":
            update = goals.GoalUpdate(status=goals.GoalStatus.ACHIEVED)
        else:
            progress = 5 * round(20 * done / len(plan.milestones)) + rng.choice((-5, 0, 5))
            update = goals.GoalUpdate(progress=min(95, max(5, progress)))
        if done:
            await goals.update_goal(session, owner, goal.id, data=update, expected_version=None)
        # History: set after the first meeting, milestones ticked in the weeks since.
        goal.created_at = goal.updated_at = set_at
        end = max(life.past(_at(until, rng.randint(9, 17), rng.randint(0, 59))), set_at)
        span = int((end - set_at).total_seconds() // 60)
        for stone, minutes in zip(
            ticked, sorted(rng.randint(span // 5, span) for _ in ticked), strict=True
        ):
            stone.done_at = goal.updated_at = set_at + timedelta(minutes=minutes)
        if state == "achieved":
            goal.achieved_at = goal.updated_at = end
            life.history.goals_achieved += 1
        life.history.goals += 1


async def _raise_concern(life: _Life, pairing: Pairing, days: list[date], lead: Actor) -> None:
    """The mentor tells the program team, in confidence, how the sessions feel; the program
    manager acknowledges it."""
    session, rng = life.session, life.rng
    mentee = life.people[pairing.mentee_employee_id]
    concern = await concerns.raise_concern(
        session,
        await life.actor(pairing.mentor_employee_id),
        pairing.id,
        data=concerns.ConcernCreate(
            category=concerns.ConcernCategory.PATRONISED,
            description=CONCERN.format(mentee=mentee.given),
        ),
    )
    await concerns.acknowledge_concern(session, lead, concern.id, expected_version=None)
    # History: raised the morning after the third meeting, seen the same day or the next.
    raised = life.past(_at(days[min(2, len(days) - 1)] + timedelta(days=1), 8, rng.randint(0, 59)))
    concern.created_at = raised
    concern.acknowledged_at = concern.updated_at = life.past(
        raised + timedelta(minutes=rng.randint(90, 26 * 60))
    )
    life.history.concerns += 1


async def _run_program(
    session: AsyncSession,
    rng: random.Random,
    plan: _ProgramPlan,
    program: Program,
    *,
    manager: Employee,
    employees_by_id: dict[uuid.UUID, Employee],
    people_by_id: dict[uuid.UUID, _Person],
    now: datetime,
) -> tuple[_History, reports.HealthCounts]:
    """Take an enrolled program live and give it ``plan.running_weeks`` of history: every step
    through the domain services, as the person who would take it."""
    assert plan.running_weeks is not None
    life = _Life(session, rng, now, employees_by_id, people_by_id)
    lead = await life.actor(manager.id)
    started_on = life.today - timedelta(weeks=plan.running_weeks, days=4)
    live = await _match_and_go_live(life, program, lead, started_on)
    life.history.pairings = len(live)
    # Most pairings go well. One or two stopped meeting, two rate their sessions low (and in
    # one of those the mentor raises a concern), and two have a goal past its target date.
    picks = rng.sample(range(len(live)), min(len(live), 5))
    quiet = set(picks[:2] if len(live) >= 8 else picks[:1])
    strained = picks[len(quiet) : len(quiet) + 2]
    late = {*picks[:1], *picks[4:5]}
    for i, pairing in enumerate(live):
        kind = _Kind.QUIET if i in quiet else _Kind.STRAINED if i in strained else _Kind.HEALTHY
        mentor = await session.get(Enrollment, pairing.mentor_enrollment_id)
        mentee = await session.get(Enrollment, pairing.mentee_enrollment_id)
        assert mentor is not None
        assert mentee is not None
        wanted = set(mentor.can_teach) | set(mentee.wants_to_learn)
        days = _check_in_days(life, pairing, kind)
        await _meet(life, pairing, kind, days, wanted)
        await _set_goals(life, pairing, kind, days, wanted, late=i in late)
        if strained and i == strained[0]:
            await _raise_concern(life, pairing, days, lead)
    await session.flush()
    report = await reports.program_report(session, lead, program.id)
    return life.history, report.health
