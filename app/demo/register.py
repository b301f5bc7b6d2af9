"""Demo AI-use register of Gemeente Havenstad: AI systems, processes, role-process links, intake.

Runs after app.demo.organisation in the same transaction and refers to its org units and
roles by key. One high-risk system (CV-screening) deliberately lacks its Art. 26(7)
workers-informed date, so the critical-processes overview shows a flag.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.org.models import OrgUnit, Person, PersonRole, Role
from app.registry import intake, service
from app.registry.schemas import (
    AISystemCreate,
    IntakeCreate,
    IntakeTriage,
    ProcessCreate,
    ProcessPublic,
    RiskOverrideCreate,
    RoleLinkCreate,
)

# key: (nl name, en name, vendor, risk class, status, owner unit, conditions nl/en,
#       classifications, workers informed, overseer roles, overseer person roles, purpose nl/en)
SYSTEMS: dict[str, dict[str, Any]] = {
    "copilot": {
        "name": ("Copilot Chat", "Copilot Chat"),
        "vendor": "Microsoft",
        "risk_class": "general_purpose",
        "deployment_status": "allowed",
        "owner": "team-iv",
        "conditions": (
            "Toegestaan met werkaccount; geen gegevens boven classificatie 'intern'.",
            "Allowed with the work account; no data classified above 'intern'.",
        ),
        "classifications": ["openbaar", "intern"],
        "purpose": ("Teksten opstellen, samenvatten en zoeken.", "Drafting, summarising, search."),
    },
    "chatgpt-free": {
        "name": ("ChatGPT (gratis versie)", "ChatGPT (free version)"),
        "vendor": "OpenAI",
        "risk_class": "general_purpose",
        "deployment_status": "prohibited",
        "owner": "team-iv",
        "conditions": (
            "Verboden: invoer wordt gebruikt voor training en verlaat de EU. Gebruik Copilot Chat.",
            "Prohibited: input is used for training and leaves the EU. Use Copilot Chat.",
        ),
        "classifications": [],
        "purpose": ("Algemene chatassistent.", "General chat assistant."),
    },
    "fraud": {
        "name": ("Fraudesignalering Uitkeringen", "Benefits fraud signalling"),
        "vendor": "DataVeilig BV",
        "risk_class": "high",
        "deployment_status": "restricted",
        "owner": "team-wi",
        "conditions": (
            "Alleen als signaal; elke beslissing neemt een consulent na eigen onderzoek.",
            "A signal only; a case handler decides every case after own investigation.",
        ),
        "classifications": ["intern", "vertrouwelijk"],
        "purpose": (
            "Risicoscore op aanvragen bijstand voor gericht onderzoek.",
            "Risk score on benefit applications for targeted checks.",
        ),
        "workers_informed": date(2026, 3, 2),
        "overseer_roles": ["teamleider", "privacy-officer"],
        "overseer_people_of_role": "privacy-officer",
    },
    "wmo-triage": {
        "name": ("Wmo Triage-assistent", "Care needs triage assistant"),
        "vendor": "ZorgData NL",
        "risk_class": "high",
        "deployment_status": "restricted",
        "owner": "team-wmo",
        "conditions": (
            "Alleen ter voorbereiding van het keukentafelgesprek; geen automatische indicatie.",
            "Only to prepare the needs assessment; no automated decision.",
        ),
        "classifications": ["intern", "vertrouwelijk"],
        "purpose": (
            "Ordent hulpvragen naar urgentie en passende ondersteuning.",
            "Sorts care requests by urgency and suitable support.",
        ),
        "workers_informed": date(2026, 4, 20),
        "overseer_roles": ["teamleider"],
    },
    "cv-screening": {
        "name": ("CV-screening in ATS", "CV screening in the ATS"),
        "vendor": "RecruitFlow",
        "risk_class": "high",
        "deployment_status": "restricted",
        "owner": "team-hr",
        "conditions": (
            "Alleen rangschikken; afwijzen gebeurt nooit zonder menselijke beoordeling.",
            "Ranking only; no candidate is rejected without human review.",
        ),
        "classifications": ["intern", "vertrouwelijk"],
        "purpose": ("Sorteert sollicitaties op functie-eisen.", "Ranks applications by criteria."),
        # Deliberately no workers-informed date: the works council was not informed yet.
        "overseer_roles": ["teamleider"],
        "overseer_people_of_role": "functioneel-beheerder",
    },
    "chatbot": {
        "name": ("Chatbot Gemeente", "Municipal chatbot"),
        "vendor": "GemeenteChat",
        "risk_class": "limited",
        "deployment_status": "allowed",
        "owner": "team-kcc",
        "conditions": (
            "Meldt altijd dat inwoners met een AI-systeem praten (AI Act art. 50).",
            "Always tells residents they talk to an AI system (AI Act Art. 50).",
        ),
        "classifications": ["openbaar"],
        "purpose": ("Beantwoordt veelgestelde vragen op de website.", "Answers website FAQs."),
    },
    "notulen": {
        "name": ("Spraak-naar-tekst notulen", "Speech-to-text minutes"),
        "vendor": "Notulist",
        "risk_class": "minimal",
        "deployment_status": "allowed",
        "owner": "team-iv",
        "conditions": (None, None),
        "classifications": ["openbaar", "intern"],
        "purpose": ("Transcribeert vergaderingen.", "Transcribes meetings."),
    },
    "deepl": {
        "name": ("Vertaaldienst DeepL", "DeepL translation service"),
        "vendor": "DeepL SE",
        "risk_class": "minimal",
        "deployment_status": "allowed",
        "owner": "team-iv",
        "conditions": (
            "Alleen de Pro-licentie; geen vertrouwelijke gegevens.",
            "Pro licence only; no confidential data.",
        ),
        "classifications": ["openbaar", "intern"],
        "purpose": ("Vertaalt brieven en webteksten.", "Translates letters and web texts."),
    },
    "begroting": {
        "name": ("Voorspellende begrotingsanalyse", "Predictive budget analysis"),
        "vendor": "FinInsight",
        "risk_class": "minimal",
        "deployment_status": "allowed",
        "owner": "team-fin",
        "conditions": (None, None),
        "classifications": ["openbaar", "intern"],
        "purpose": ("Prognoses van uitgaven en inkomsten.", "Forecasts of spending and income."),
    },
}

# (nl name, en name, impact, impact types, risk ref, owner, systems, links)
# links: (role key, involvement, planned-from date or None)
PROCESSES: list[
    tuple[str, str, str, list[str], str, str, list[str], list[tuple[str, str, Any]]]
] = [
    (
        "Aanvraag bijstand beoordelen",
        "Assessing benefit applications",
        "high",
        ["decision_making", "case_files"],
        "RR-2026-014",
        "team-wi",
        ["fraud", "copilot"],
        [
            ("consulent-werk-inkomen", "operates", None),
            ("teamleider", "oversees", None),
            ("functioneel-beheerder", "operates", None),
        ],
    ),
    (
        "Wmo-keukentafelgesprek en indicatie",
        "Care needs assessment and decision",
        "high",
        ["decision_making", "case_files", "client_contact"],
        "RR-2026-015",
        "team-wmo",
        ["wmo-triage", "notulen"],
        [("wmo-consulent", "operates", None), ("teamleider", "oversees", None)],
    ),
    (
        "Jeugdhulp toewijzen",
        "Allocating youth care",
        "high",
        ["decision_making", "case_files"],
        "RR-2026-016",
        "team-wmo",
        ["wmo-triage"],
        [("jeugdconsulent", "uses_output", date(2027, 3, 1))],
    ),
    (
        "Werving en selectie",
        "Recruitment and selection",
        "high",
        ["decision_making"],
        "RR-2026-017",
        "team-hr",
        ["cv-screening", "copilot"],
        [("recruiter", "operates", None), ("teamleider", "oversees", None)],
    ),
    (
        "Klantvragen beantwoorden",
        "Answering client questions",
        "medium",
        ["client_contact"],
        "RR-2026-021",
        "team-kcc",
        ["chatbot", "copilot", "deepl"],
        [("klantcontactmedewerker", "operates", None)],
    ),
    (
        "Raadsvoorstellen en beleidsnota's schrijven",
        "Writing council proposals and policy papers",
        "medium",
        ["reporting"],
        "RR-2026-022",
        "dir-sd",
        ["copilot", "notulen"],
        [("beleidsadviseur", "uses_output", None)],
    ),
    (
        "Begroting en jaarrekening",
        "Budget and annual accounts",
        "medium",
        ["reporting"],
        "RR-2026-023",
        "team-fin",
        ["begroting", "copilot"],
        [("financieel-adviseur", "uses_output", None), ("data-analist", "operates", None)],
    ),
    (
        "Gegevensbeheer en privacy",
        "Data management and privacy",
        "medium",
        ["case_files", "reporting"],
        "RR-2026-024",
        "team-iv",
        ["copilot"],
        [
            ("privacy-officer", "oversees", None),
            ("functioneel-beheerder", "operates", None),
            ("data-analist", "operates", date(2027, 1, 1)),
        ],
    ),
    (
        "Paspoort en rijbewijs aanvragen",
        "Passport and driving licence applications",
        "low",
        ["client_contact"],
        "RR-2026-030",
        "team-bz",
        ["chatbot"],
        [("medewerker-burgerzaken", "uses_output", None)],
    ),
    (
        "Communicatie en persberichten",
        "Communication and press releases",
        "low",
        ["reporting"],
        "RR-2026-031",
        "dir-dv",
        ["copilot", "deepl"],
        [("communicatieadviseur", "uses_output", None)],
    ),
]


def _lookup(session: Session, model: Any, column: Any, keys: set[str]) -> dict[str, Any]:
    rows = session.exec(select(model).where(col(column).in_(keys))).all()
    found = {getattr(row, column.key): row for row in rows}
    missing = sorted(keys - set(found))
    if missing:
        raise RuntimeError(
            f"the demo register needs {model.__tablename__} {', '.join(missing)} "
            "from the demo organisation"
        )
    return found


def _first_holder(session: Session, role: Role) -> Person | None:
    """The active holder of a role with the lowest employee number (deterministic)."""
    return session.exec(
        select(Person)
        .join(PersonRole, col(PersonRole.person_id) == col(Person.id))
        .where(PersonRole.role_id == role.id, col(Person.active).is_(True))
        .order_by(col(Person.employee_number))
        .limit(1)
    ).first()


def load(session: Session, *, language: str) -> dict[str, int]:
    """Load the demo register; names in Dutch ('nl') or English ('en')."""
    lang = 0 if language == "nl" else 1
    role_keys = {key for p in PROCESSES for key, _, _ in p[7]}
    role_keys |= {r for s in SYSTEMS.values() for r in s.get("overseer_roles", [])}
    role_keys |= {
        s["overseer_people_of_role"] for s in SYSTEMS.values() if "overseer_people_of_role" in s
    }
    if not session.exec(select(Role.id).where(col(Role.key).in_(role_keys)).limit(1)).first():
        return {}  # the demo organisation has no roles (yet): nothing to hang a register on
    roles = _lookup(session, Role, Role.key, role_keys)
    unit_keys = {s["owner"] for s in SYSTEMS.values()} | {p[5] for p in PROCESSES}
    units = _lookup(session, OrgUnit, OrgUnit.external_id, unit_keys)

    systems = {}
    for key, spec in SYSTEMS.items():
        person = None
        if "overseer_people_of_role" in spec:
            person = _first_holder(session, roles[spec["overseer_people_of_role"]])
        systems[key] = service.create_ai_system(
            session,
            data=AISystemCreate(
                name=spec["name"][lang],
                vendor=spec["vendor"],
                purpose=spec["purpose"][lang],
                risk_class=spec["risk_class"],
                deployment_status=spec["deployment_status"],
                conditions=spec["conditions"][lang],
                allowed_data_classifications=spec["classifications"],
                owner_org_unit_id=units[spec["owner"]].id,
                last_review_date=date(2026, 9, 15),
                workers_informed_date=spec.get("workers_informed"),
                overseer_role_ids=[roles[r].id for r in spec.get("overseer_roles", [])],
                overseer_person_ids=[person.id] if person else [],
            ),
        )

    links = 0
    processes: dict[str, ProcessPublic] = {}
    for name_nl, name_en, impact, types, ref, owner, system_keys, role_links in PROCESSES:
        process = service.create_process(
            session,
            data=ProcessCreate(
                name=name_nl if lang == 0 else name_en,
                owner_org_unit_id=units[owner].id,
                impact_level=impact,
                impact_types=types,
                risk_register_ref=ref,
                ai_system_ids=[systems[k].id for k in system_keys],
            ),
        )
        processes[name_nl] = process
        for role_key, involvement, planned in role_links:
            service.create_role_link(
                session,
                data=RoleLinkCreate(
                    role_id=roles[role_key].id,
                    process_id=process.id,
                    involvement=involvement,
                    state="planned" if planned else "current",
                    planned_from_date=planned,
                ),
            )
            links += 1

    service.add_risk_override(
        session,
        role_id=roles["medewerker-burgerzaken"].id,
        data=RiskOverrideCreate(
            risk_class="minimal",
            reason=(
                "Ziet alleen de FAQ-antwoorden van de chatbot; geen AI in de beoordeling."
                if lang == 0
                else "Only sees the chatbot's FAQ answers; no AI in the assessment."
            ),
        ),
        decided_by="demo",
    )

    declarations = [
        (
            "ChatGPT (gratis versie)",
            "E-mails aan inwoners herschrijven" if lang == 0 else "Rewriting e-mails to residents",
            "Klantvragen beantwoorden",
            "klantcontactmedewerker",
            IntakeTriage(
                decision="existing_system",
                ai_system_id=systems["chatgpt-free"].id,
                note="Verboden systeem; medewerker gewezen op Copilot Chat."
                if lang == 0
                else "Prohibited system; pointed the employee to Copilot Chat.",
            ),
        ),
        (
            "Gratis transcriptie-app op eigen telefoon"
            if lang == 0
            else "Free transcription app on own phone",
            "Gesprekken met cliënten opnemen" if lang == 0 else "Recording client conversations",
            "Wmo-keukentafelgesprek en indicatie",
            "wmo-consulent",
            IntakeTriage(
                decision="rejected",
                note="Gezondheidsgegevens op een privételefoon: niet toegestaan; gebruik "
                "Spraak-naar-tekst notulen."
                if lang == 0
                else "Health data on a private phone is not allowed; use Speech-to-text minutes.",
            ),
        ),
        (
            "Gamma (AI-presentaties)",
            "Presentaties voor bewonersavonden" if lang == 0 else "Slides for residents' evenings",
            "Communicatie en persberichten",
            "communicatieadviseur",
            None,
        ),
        (
            "Grammarly",
            "Engelstalige brieven controleren" if lang == 0 else "Checking letters in English",
            None,
            "beleidsadviseur",
            None,
        ),
    ]
    for tool, purpose, process_name, role_key, triage in declarations:
        holder = _first_holder(session, roles[role_key])
        declared_in = processes.get(process_name or "")
        declaration = intake.declare_tool(
            session,
            data=IntakeCreate(
                tool=tool,
                purpose=purpose,
                process=declared_in.name if declared_in else None,
                process_id=declared_in.id if declared_in else None,
                declared_by=holder.employee_number if holder else role_key,
                person_id=holder.id if holder else None,
            ),
        )
        if triage is not None:
            intake.triage_intake(session, declaration=declaration, data=triage, triaged_by="demo")

    return {
        "ai_systems": len(systems),
        "processes": len(processes),
        "role_process_links": links,
        "intake_declarations": len(declarations),
    }
