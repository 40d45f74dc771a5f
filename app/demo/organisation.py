"""The demo organisation Northwind Labs: its people, departments, cities and programs, built
through the domain services like real data."""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Employee, Program
from app.domain import (
    employees,
    enrollments,
    programs,
)
from app.domain.actors import Actor
from app.domain.enrollments import EnrollmentRole, TimeWindow, Weekday
from app.domain.programs import FocusArea, MatchingSettings, ProgramStatus
from app.domain.tokens import person_actor

ORGANISATION = "Northwind Labs"
DOMAIN = "northwind.example"
ADMIN_EMAIL = f"amara.okafor@{DOMAIN}"


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


@dataclass(frozen=True)
class _NameGroup:
    weight: float
    given: tuple[str, ...]
    family: tuple[str, ...]
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class _City:
    name: str
    time_zone: str
    groups: tuple[_NameGroup, ...]


BERLIN = _City(
    "Berlin",
    "Europe/Berlin",
    (
        _NameGroup(
            7,
            _names(
                "Anna, Lukas, Lena, Jonas, Marie, Felix, Sophie, Leon, Hannah, Paul, Mia, Jan, "
                "Laura, Tim, Julia, Max, Clara, Niklas, Emma, Tobias, Katharina, Moritz, Johanna, "
                "Sebastian, Greta, Florian"
            ),
            _names(
                "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
                "Hoffmann, Koch, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, Zimmermann, "
                "Braun, Krüger, Hartmann, Lange, Werner, Krause, Vogel, Brandt"
            ),
            ("German",),
        ),
        _NameGroup(
            2,
            _names("Elif, Deniz, Mehmet, Aylin, Kerem, Emre, Selin, Can"),
            _names("Yilmaz, Kaya, Demir, Şahin, Çelik, Aydin, Öztürk, Arslan"),
            ("German", "Turkish"),
        ),
        _NameGroup(
            1,
            _names("Katarzyna, Piotr, Agnieszka, Tomasz, Marta, Paweł"),
            _names("Nowak, Kaczmarek, Mazur, Wójcik, Krawczyk, Dudek"),
            ("German", "Polish"),
        ),
    ),
)
LONDON = _City(
    "London",
    "Europe/London",
    (
        _NameGroup(
            5,
            _names(
                "Oliver, Amelia, George, Isla, Harry, Ava, Jack, Olivia, Charlie, Emily, Thomas, "
                "Poppy, James, Grace, William, Ella, Samuel, Freya, Callum, Niamh"
            ),
            _names(
                "Smith, Jones, Taylor, Brown, Williams, Wilson, Davies, Evans, Roberts, Walker, "
                "Wright, Hughes, Green, Hall, Clarke, Turner, Murphy, O'Brien, Campbell, Kelly"
            ),
        ),
        _NameGroup(
            2,
            _names("Aisha, Omar, Priya, Rohan, Zara, Imran, Sana, Ravi"),
            _names("Patel, Khan, Ahmed, Ali, Begum, Hussain, Shah, Chaudhry"),
            ("Hindi", "Urdu"),
        ),
        _NameGroup(
            1.5,
            _names("Kwame, Chidi, Adaeze, Tunde, Efua, Kofi, Ngozi, Yaw"),
            _names("Mensah, Adeyemi, Okonkwo, Boateng, Asante, Eze, Owusu, Balogun"),
            ("Yoruba", "Twi"),
        ),
    ),
)
NEW_YORK = _City(
    "New York",
    "America/New_York",
    (
        _NameGroup(
            5,
            _names(
                "Michael, Jessica, Christopher, Ashley, Matthew, Sarah, Joshua, Jennifer, Andrew, "
                "Emily, David, Samantha, Tyler, Megan, Ryan, Madison, Ethan, Hannah, Kevin, Lauren"
            ),
            _names(
                "Johnson, Williams, Brown, Davis, Miller, Wilson, Anderson, Thomas, Jackson, "
                "White, Harris, Martin, Thompson, Robinson, Lewis, Young, Allen, King, Cohen, "
                "Goldberg"
            ),
        ),
        _NameGroup(
            2,
            _names("Maria, Carlos, Sofia, Luis, Gabriela, Diego, Valentina, Javier"),
            _names("García, Rodríguez, Martínez, Hernández, López, González, Rivera"),
            ("Spanish",),
        ),
        _NameGroup(
            1.5,
            _names("Jamal, Keisha, Malik, Destiny, Darnell, Imani, Andre, Jasmine"),
            _names("Washington, Jefferson, Banks, Brooks, Coleman, Freeman, Jenkins"),
        ),
        _NameGroup(
            1,
            _names("Grace, Daniel, Jenny, Brian, Michelle, Eric, Linh, Minji"),
            _names("Nguyen, Kim, Chen, Park, Wang, Tran"),
            ("Korean", "Vietnamese", "Mandarin"),
        ),
    ),
)
BANGALORE = _City(
    "Bangalore",
    "Asia/Kolkata",
    (
        _NameGroup(
            1,
            _names(
                "Aarav, Ananya, Vivaan, Diya, Aditya, Isha, Arjun, Kavya, Rohan, Priya, Karthik, "
                "Lakshmi, Rahul, Sneha, Vikram, Pooja, Siddharth, Meera, Nikhil, Divya, Harish, "
                "Deepa, Suresh, Anjali, Varun, Shreya, Manoj, Nandini, Akash, Swati"
            ),
            _names(
                "Sharma, Patel, Reddy, Nair, Iyer, Rao, Kumar, Singh, Gupta, Menon, Krishnan, "
                "Pillai, Joshi, Desai, Mehta, Bhat, Shetty, Hegde, Kulkarni, Agarwal, Chatterjee, "
                "Banerjee, Das, Srinivasan, Venkatesh, Subramanian, Gowda, Naidu"
            ),
            ("Hindi", "Kannada", "Tamil"),
        ),
    ),
)
SINGAPORE = _City(
    "Singapore",
    "Asia/Singapore",
    (
        _NameGroup(
            6,
            _names(
                "Wei Ling, Jun Jie, Hui Min, Zhi Hao, Xin Yi, Jia Hui, Kai Xiang, Mei Ling, Ethan, "
                "Chloe, Ryan, Rachel, Marcus, Natalie, Darren, Valerie, Bryan, Joanne"
            ),
            _names(
                "Tan, Lim, Lee, Ng, Ong, Wong, Goh, Chua, Chan, Koh, Teo, Ang, Yeo, Tay, Ho, Low, "
                "Toh, Sim"
            ),
            ("Mandarin",),
        ),
        _NameGroup(
            2,
            _names("Siti, Nur Aisyah, Hafiz, Farah, Amirul, Nurul, Haziq, Aminah"),
            _names("Abdullah, Rahman, Ismail, Hassan, Osman, Yusof"),
            ("Malay",),
        ),
        _NameGroup(
            1.5,
            _names("Arjun, Kavitha, Rajesh, Priya, Vikram, Deepa, Suresh, Revathi"),
            _names("Pillai, Nair, Raj, Subramaniam, Krishnan, Menon"),
            ("Tamil",),
        ),
    ),
)
CITIES = {c.name: c for c in (BERLIN, LONDON, NEW_YORK, BANGALORE, SINGAPORE)}
#: Languages people pick up beyond their own, for a little variety.
LEARNED_LANGUAGES = ("Spanish", "French", "German", "Japanese", "Portuguese", "Mandarin")


@dataclass(frozen=True)
class _Department:
    name: str
    division: str
    size: int
    directors: int
    managers: int
    chief: str
    #: Titles of managers at levels 7, 8, 9 and 10.
    leads: tuple[str, ...]
    #: Job families of individual contributors (repeats make a family more common).
    tracks: tuple[str, ...]
    skills: tuple[str, ...]
    cities: dict[str, int]


DEPARTMENTS = (
    _Department(
        "Engineering",
        "Technology",
        55,
        2,
        6,
        "Chief Technology Officer",
        _names(
            "Engineering Manager, Senior Engineering Manager, Director of Engineering, "
            "VP of Engineering"
        ),
        _names(
            "Software Engineer, Software Engineer, Data Engineer, QA Engineer, "
            "Site Reliability Engineer"
        ),
        _names("Python, TypeScript, Kubernetes, GitHub Copilot, SQL"),
        {"Berlin": 5, "Bangalore": 4, "London": 1},
    ),
    _Department(
        "Product",
        "Technology",
        18,
        1,
        2,
        "Chief Product Officer",
        _names("Product Lead, Group Product Manager, Director of Product, VP of Product"),
        _names("Product Manager, Product Designer, UX Researcher"),
        _names("Figma, user research, Notion, roadmapping"),
        {"Berlin": 3, "London": 2, "New York": 1},
    ),
    _Department(
        "Sales",
        "Go-to-Market",
        30,
        1,
        4,
        "Chief Revenue Officer",
        _names("Sales Manager, Regional Sales Manager, Director of Sales, VP of Sales"),
        _names("Account Executive, Sales Development Representative, Sales Engineer"),
        _names("LinkedIn, Salesforce, social selling"),
        {"London": 3, "New York": 4, "Singapore": 2, "Berlin": 1},
    ),
    _Department(
        "Marketing",
        "Go-to-Market",
        20,
        1,
        2,
        "Chief Marketing Officer",
        _names(
            "Marketing Manager, Senior Marketing Manager, Director of Marketing, VP of Marketing"
        ),
        _names("Marketing Specialist, Content Marketer, Growth Marketer, Brand Designer"),
        _names("TikTok, Instagram, Canva, SEO, social media"),
        {"London": 2, "New York": 3, "Berlin": 1, "Singapore": 1},
    ),
    _Department(
        "Customer Success",
        "Go-to-Market",
        25,
        1,
        3,
        "Chief Customer Officer",
        _names(
            "Customer Success Team Lead, Head of Support, Director of Customer Success, "
            "VP of Customer Success"
        ),
        _names("Customer Success Manager, Support Engineer, Implementation Consultant"),
        _names("Zendesk, Slack, customer empathy"),
        {"Singapore": 3, "Bangalore": 2, "New York": 2, "London": 1},
    ),
    _Department(
        "Finance",
        "Corporate Functions",
        14,
        1,
        2,
        "Chief Financial Officer",
        _names("Finance Manager, Financial Controller, Director of Finance, VP of Finance"),
        _names("Financial Analyst, Accountant"),
        _names("Excel, Power BI, SQL"),
        {"London": 2, "Berlin": 2, "New York": 1},
    ),
    _Department(
        "People",
        "Corporate Functions",
        14,
        1,
        2,
        "Chief People Officer",
        _names("People Operations Manager, Head of Talent, Director of People, VP of People"),
        _names("People Partner, Recruiter, Learning Specialist"),
        _names("inclusive language, Workday, employer branding"),
        {"London": 2, "Berlin": 2, "Bangalore": 1, "Singapore": 1},
    ),
    _Department(
        "Operations",
        "Corporate Functions",
        23,
        1,
        3,
        "Chief Operating Officer",
        _names(
            "Operations Manager, Senior Operations Manager, Director of Operations, "
            "VP of Operations"
        ),
        _names("Operations Analyst, IT Support Specialist, Workplace Coordinator, Buyer"),
        _names("no-code automation, Jira, Microsoft Teams"),
        {"Berlin": 3, "Bangalore": 2, "London": 1},
    ),
)
DEPARTMENT = {d.name: d for d in DEPARTMENTS}

IC_TITLES = {1: "Graduate {}", 2: "Junior {}", 3: "{}", 4: "{} II", 5: "Senior {}", 6: "Lead {}"}
#: Most individual contributors are early in their careers, as in a growing company.
IC_LEVEL_WEIGHTS = {1: 10, 2: 14, 3: 18, 4: 16, 5: 14, 6: 8}
#: How many years someone at a level has typically been with the company, at most.
MAX_TENURE_YEARS = {1: 1, 2: 2, 3: 4, 4: 6, 5: 8, 6: 10, 7: 11, 8: 12, 9: 13, 10: 14, 11: 15}

TECH_TOPICS = _names(
    "AI tools, ChatGPT, prompt engineering, GitHub Copilot, Slack, Microsoft Teams, Notion, "
    "Figma, Python, no-code automation, social media, TikTok, LinkedIn"
)
INCLUSION_TOPICS = _names(
    "inclusive language, Gen Z perspectives, accessibility, neurodiversity, allyship, "
    "psychological safety, hybrid work, feedback culture"
)
SENIOR_SKILLS = _names(
    "strategy, budgeting, people management, negotiation, stakeholder management, hiring, "
    "change management, public speaking, board reporting, coaching"
)
#: What the digital workplace circle is about: tools and habits of everyday work.
DIGITAL_TOPICS = _names(
    "Slack, Microsoft Teams, AI tools, ChatGPT, prompt engineering, Notion, no-code automation, "
    "LinkedIn, social media, hybrid work"
)
CAREER_INTERESTS = _names(
    "leadership, career growth, public speaking, strategy, negotiation, stakeholder management, "
    "finance basics, how decisions get made"
)

MENTOR_MOTIVATIONS = (
    "I use these tools every day and would love to show how much time they save.",
    "I want to understand how decisions are made at the top, and share what I know in return.",
    "Teaching is the best way to learn; I'd like to practise explaining things clearly.",
    "My generation sees the workplace differently and I'd like that perspective to be heard.",
    "Someone took the time to help me when I started; this is my way of giving back.",
)
MENTEE_MOTIVATIONS = (
    "My teams use tools I have never tried; I want to catch up and ask better questions.",
    "My teams' first jobs looked nothing like mine; I want to understand what drives them.",
    "I would rather learn this from a colleague than from a vendor's slide deck.",
    "I want to keep up with how my teams actually work, not how they worked when I started.",
    "Our customers expect us to work the way they do; I need to see it first-hand.",
)


@dataclass(frozen=True)
class _ProgramPlan:
    name: str
    description: str
    focus_areas: tuple[str, ...]
    topics: tuple[str, ...]
    starts_in_days: int
    meeting_cadence_days: int
    pairing_length_weeks: int
    ground_rules: str
    manager: tuple[str, str, str, str]
    #: How many mentors and mentees opt in (a range the cohort is drawn from).
    mentors: tuple[int, int] = (25, 35)
    mentees: tuple[int, int] = (20, 30)
    #: Weeks the program's pairings have been live; None for a program still enrolling.
    running_weeks: int | None = None


GROUND_RULES = """\
1. Taking part is voluntary. Either of you may end the pairing at any time, no fault and no \
questions asked.
2. What is said in a session stays between the two of you. Shared notes are shared; private \
notes are yours alone.
3. The mentor leads. Rank stays at the door: ask, listen, and try things out together.
4. Meet {cadence} for 45 to 60 minutes, and say early when you cannot make it.
5. If something is not working, tell the program team. A concern is confidential.
"""

PROGRAMS = (
    _ProgramPlan(
        name="AI tools for leaders",
        description=(
            "Early-career colleagues show senior leaders how they use generative AI, chat tools "
            "and automation in their daily work: hands-on, on the leaders' own tasks. Leaders "
            "bring the questions; mentors bring the practice."
        ),
        focus_areas=(
            FocusArea.TECHNOLOGY_ADOPTION,
            FocusArea.WORKPLACE_COMMUNICATION,
            "AI tools",
        ),
        topics=TECH_TOPICS,
        starts_in_days=30,
        meeting_cadence_days=14,
        pairing_length_weeks=24,
        ground_rules=GROUND_RULES.format(cadence="every two weeks"),
        manager=("Daniel", "Mensah", "Learning & Development Lead", "London"),
    ),
    _ProgramPlan(
        name="Inclusive leadership",
        description=(
            "Junior colleagues share how they experience the workplace: language, access, "
            "hybrid work and what makes a team feel safe. Senior leaders learn to lead a team "
            "that is more varied than the one they grew up in."
        ),
        focus_areas=(FocusArea.DIVERSITY_INCLUSION, FocusArea.LEADERSHIP_DEVELOPMENT),
        topics=INCLUSION_TOPICS,
        starts_in_days=45,
        meeting_cadence_days=21,
        pairing_length_weeks=20,
        ground_rules=GROUND_RULES.format(cadence="every three weeks")
        + "6. Lived experience shared in a session is never repeated or used in a performance "
        "review.\n",
        manager=("Lena", "Hoffmann", "Diversity & Inclusion Lead", "Berlin"),
    ),
    _ProgramPlan(
        name="Digital workplace circle",
        description=(
            "A smaller circle, already under way: early-career colleagues help leaders work the "
            "way their teams already do, with Slack and Teams channels instead of e-mail chains, "
            "written updates instead of status meetings, AI assistants for first drafts and a "
            "professional presence on social media."
        ),
        focus_areas=(FocusArea.WORKPLACE_COMMUNICATION, FocusArea.TECHNOLOGY_ADOPTION),
        topics=DIGITAL_TOPICS,
        starts_in_days=-77,
        meeting_cadence_days=14,
        pairing_length_weeks=20,
        ground_rules=GROUND_RULES.format(cadence="every two weeks"),
        manager=("Wei Ling", "Tan", "Internal Communications Lead", "Singapore"),
        mentors=(16, 20),
        mentees=(12, 15),
        running_weeks=10,
    ),
)


@dataclass
class _Person:
    given: str
    family: str
    email: str
    title: str
    level: int
    department: _Department
    city: _City
    manager: _Person | None
    hire_date: date
    skills: list[str]
    interests: list[str]
    languages: list[str]
    external_id: str
    is_admin: bool = False

    def fields(self) -> dict[str, Any]:
        """The employee record's fields, except the manager and the identifiers."""
        return {
            "given_name": self.given,
            "family_name": self.family,
            "job_title": self.title,
            "job_level": self.level,
            "department": self.department.name,
            "division": self.department.division,
            "location": self.city.name,
            "time_zone": self.city.time_zone,
            # Strings, as an HRIS feed sends them: the input models take JSON-shaped values.
            "hire_date": self.hire_date.isoformat(),
            "skills": self.skills,
            "interests": self.interests,
            "languages": self.languages,
        }


_TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _email_part(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name.lower().translate(_TRANSLITERATION))
    return re.sub(r"[^a-z0-9]", "", ascii_name.encode("ascii", "ignore").decode())


def email_for(given: str, family: str) -> str:
    """The work e-mail Northwind Labs gives a person."""
    return f"{_email_part(given)}.{_email_part(family)}@{DOMAIN}"


@dataclass
class _Planner:
    """Draws the organisation from one seeded generator, managers before their reports."""

    rng: random.Random
    today: date
    people: list[_Person] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)

    def pick(self, items: tuple[str, ...], low: int, high: int) -> list[str]:
        return self.rng.sample(items, min(len(items), self.rng.randint(low, high)))

    def name(self, city: _City) -> tuple[str, str, tuple[str, ...]]:
        weights = [g.weight for g in city.groups]
        for _ in range(1000):
            group = self.rng.choices(city.groups, weights)[0]
            given, family = self.rng.choice(group.given), self.rng.choice(group.family)
            if email_for(given, family) not in self.emails:
                return given, family, group.languages
        raise RuntimeError(f"ran out of names for {city.name}")

    def languages(self, spoken: tuple[str, ...]) -> list[str]:
        out = ["English"]
        out += [lang for lang in spoken if self.rng.random() < 0.8]
        if self.rng.random() < 0.15:
            out.append(self.rng.choice(LEARNED_LANGUAGES))
        return list(dict.fromkeys(out))

    def skills_and_interests(self, level: int, dept: _Department) -> tuple[list[str], list[str]]:
        # Juniors know the new tools and the new norms; seniors want to learn them.
        if level <= 4:
            skills = (
                self.pick(TECH_TOPICS, 2, 4)
                + self.pick(INCLUSION_TOPICS, 1, 2)
                + self.pick(dept.skills, 1, 2)
            )
            interests = self.pick(CAREER_INTERESTS, 2, 3)
        elif level <= 6:
            skills = self.pick(dept.skills, 2, 3) + self.pick(TECH_TOPICS, 1, 2)
            skills += self.pick(SENIOR_SKILLS, 1, 1)
            interests = self.pick(CAREER_INTERESTS, 1, 2) + self.pick(INCLUSION_TOPICS, 1, 1)
        else:
            skills = self.pick(SENIOR_SKILLS, 2, 4) + self.pick(dept.skills, 1, 1)
            interests = self.pick(TECH_TOPICS, 2, 4) + self.pick(INCLUSION_TOPICS, 1, 3)
        return list(dict.fromkeys(skills)), list(dict.fromkeys(interests))

    def city_for(self, dept: _Department, level: int, manager: _Person | None) -> _City:
        # Most individual contributors sit with their manager; leaders are spread over the
        # department's offices.
        if manager is not None and level <= 6 and self.rng.random() < 0.7:
            return manager.city
        names = list(dept.cities)
        return CITIES[self.rng.choices(names, [dept.cities[n] for n in names])[0]]

    def add(
        self,
        dept: _Department,
        level: int,
        title: str,
        manager: _Person | None,
        *,
        city: _City | None = None,
        name: tuple[str, str] | None = None,
        is_admin: bool = False,
    ) -> _Person:
        city = city or self.city_for(dept, level, manager)
        if name is None:
            given, family, spoken = self.name(city)
        else:
            given, family = name
            spoken = city.groups[0].languages
        tenure_days = self.rng.randint(30, 365 * MAX_TENURE_YEARS.get(level, 18))
        skills, interests = self.skills_and_interests(level, dept)
        person = _Person(
            given=given,
            family=family,
            email=email_for(given, family),
            title=title,
            level=level,
            department=dept,
            city=city,
            manager=manager,
            hire_date=self.today - timedelta(days=tenure_days),
            skills=skills,
            interests=interests,
            languages=self.languages(spoken),
            external_id=f"NW-{len(self.people) + 1:05d}",
            is_admin=is_admin,
        )
        self.emails.add(person.email)
        self.people.append(person)
        return person


def _plan_organisation(seed: int, today: date) -> tuple[list[_Person], dict[str, _Person]]:
    """The people of Northwind Labs (managers first) and each program's manager, by program."""
    planner = _Planner(random.Random(seed), today)
    fixed = [("Johanna", "Brandt"), ("Amara", "Okafor")]
    fixed += [(p.manager[0], p.manager[1]) for p in PROGRAMS]
    planner.emails.update(email_for(given, family) for given, family in fixed)
    ceo = planner.add(
        DEPARTMENT["Operations"],
        12,
        "Chief Executive Officer",
        None,
        city=BERLIN,
        name=("Johanna", "Brandt"),
    )
    program_managers: dict[str, _Person] = {}
    for dept in DEPARTMENTS:
        if dept.name == "People":
            chief = planner.add(
                dept, 11, dept.chief, ceo, city=LONDON, name=("Amara", "Okafor"), is_admin=True
            )
        else:
            chief = planner.add(dept, 11, dept.chief, ceo)
        directors = []
        for _ in range(dept.directors):
            level = planner.rng.choice((9, 10))
            directors.append(planner.add(dept, level, dept.leads[level - 7], chief))
        managers = []
        for i in range(dept.managers):
            level = planner.rng.choice((7, 8))
            boss = directors[i % len(directors)]
            managers.append(planner.add(dept, level, dept.leads[level - 7], boss))
        contributors = dept.size - 1 - dept.directors - dept.managers
        if dept.name == "People":
            for plan in PROGRAMS:
                given, family, title, city = plan.manager
                program_managers[plan.name] = planner.add(
                    dept,
                    6,
                    title,
                    planner.rng.choice(managers),
                    city=CITIES[city],
                    name=(given, family),
                )
                contributors -= 1
        levels = list(IC_LEVEL_WEIGHTS)
        for _ in range(contributors):
            boss = planner.rng.choice(managers)
            level = planner.rng.choices(levels, [IC_LEVEL_WEIGHTS[v] for v in levels])[0]
            track = planner.rng.choice(dept.tracks)
            planner.add(dept, level, IC_TITLES[level].format(track), boss)
    return planner.people, program_managers


async def _save_people(
    session: AsyncSession, actor: Actor, people: list[_Person], *, reuse: bool
) -> tuple[dict[str, Employee], int]:
    """Create each person (managers first); with ``reuse``, update whoever has their e-mail."""
    # A forced load over existing data completes people already on file (such as an admin
    # bootstrapped by `revmentor token create`) instead of failing on their e-mail.
    saved: dict[str, Employee] = {}
    taken: set[str] = set()
    if reuse:
        stmt = select(col(Employee.external_id)).where(col(Employee.external_id).is_not(None))
        taken = {str(v) for v in (await session.execute(stmt)).scalars()}
    updated = 0
    for person in people:
        values = person.fields()
        values["manager_id"] = saved[person.manager.email].id if person.manager else None
        existing = await employees.find_by_email(session, person.email) if reuse else None
        if existing is not None:
            values["active"] = True
            if person.is_admin:
                values["is_admin"] = True
            employee = await employees.update_employee(
                session,
                actor,
                existing.id,
                data=employees.EmployeeUpdate(
                    display_name=f"{person.given} {person.family}", **values
                ),
                expected_version=None,
            )
            updated += 1
        else:
            external_id = person.external_id
            suffix = 1
            while external_id in taken:
                external_id = f"{person.external_id}-{suffix}"
                suffix += 1
            employee = await employees.create_employee(
                session,
                actor,
                data=employees.EmployeeCreate(
                    email=person.email,
                    external_id=external_id,
                    is_admin=person.is_admin,
                    **values,
                ),
            )
        saved[person.email] = employee
    return saved, updated


async def _create_program(
    session: AsyncSession, actor: Actor, plan: _ProgramPlan, *, manager: Employee, today: date
) -> Program:
    starts_on = today + timedelta(days=plan.starts_in_days)
    ends_on = starts_on + timedelta(weeks=plan.pairing_length_weeks + 2)
    program = await programs.create_program(
        session,
        actor,
        data=programs.ProgramCreate(
            name=plan.name,
            description=plan.description,
            focus_areas=list(plan.focus_areas),
            starts_on=starts_on.isoformat(),
            ends_on=ends_on.isoformat(),
            meeting_cadence_days=plan.meeting_cadence_days,
            pairing_length_weeks=plan.pairing_length_weeks,
            ground_rules=plan.ground_rules,
            # A gap of three levels keeps every demo pairing clearly "reverse".
            matching=MatchingSettings(
                min_level_gap=3, default_mentor_capacity=1, max_mentor_capacity=2
            ),
            manager_ids=[manager.id],
        ),
    )
    return await programs.transition_program(
        session, actor, program.id, to=ProgramStatus.ENROLLING, expected_version=None
    )


def _availability(rng: random.Random, *, senior: bool) -> list[TimeWindow]:
    weekdays = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]
    days = sorted(rng.sample(range(5), rng.randint(1, 2) if senior else rng.randint(1, 3)))
    windows = []
    for day in days:
        # Seniors' calendars leave the edges of the day; juniors are freer.
        start = rng.choice((8, 12, 17)) if senior else rng.randint(9, 16)
        length = 1 if senior else rng.choice((1, 2))
        windows.append(
            TimeWindow(day=weekdays[day], start=f"{start:02d}:00", end=f"{start + length:02d}:00")
        )
    return windows


async def _enroll_cohort(
    session: AsyncSession,
    rng: random.Random,
    plan: _ProgramPlan,
    program: Program,
    *,
    people: list[_Person],
    saved: dict[str, Employee],
    manager: _Person,
) -> tuple[int, int]:
    """Each participant opts in themself, consenting to the current ground rules."""
    topics = set(plan.topics)
    mentors = [
        p
        for p in people
        if 1 <= p.level <= 4 and p is not manager and topics.intersection(p.skills)
    ]
    mentees = [
        p for p in people if p.level >= 7 and p is not manager and topics.intersection(p.interests)
    ]
    chosen = [
        (EnrollmentRole.MENTOR, p)
        for p in rng.sample(mentors, min(len(mentors), rng.randint(*plan.mentors)))
    ] + [
        (EnrollmentRole.MENTEE, p)
        for p in rng.sample(mentees, min(len(mentees), rng.randint(*plan.mentees)))
    ]
    for role, person in chosen:
        employee = saved[person.email]
        actor = await person_actor(session, employee)
        is_mentor = role is EnrollmentRole.MENTOR
        wanted = person.skills if is_mentor else person.interests
        chosen_topics = [t for t in wanted if t in topics][:4]
        await enrollments.enroll(
            session,
            actor,
            program_id=program.id,
            data=enrollments.EnrollmentCreate(
                role=role,
                accepted_ground_rules_version=program.ground_rules_version,
                can_teach=chosen_topics if is_mentor else [],
                wants_to_learn=[] if is_mentor else chosen_topics,
                availability=_availability(rng, senior=not is_mentor),
                capacity=rng.choice((None, None, 2)) if is_mentor else None,
                motivation=rng.choice(MENTOR_MOTIVATIONS if is_mentor else MENTEE_MOTIVATIONS),
            ),
        )
    mentor_count = sum(1 for role, _ in chosen if role is EnrollmentRole.MENTOR)
    return mentor_count, len(chosen) - mentor_count
