"""Short Dutch phrases for the free-text columns (a small template list, sampled with numpy).

Some phrases contain the files' separators (``;`` and ``,``), double quotes or a line break on
purpose: the CSV writer must quote them and a reader must still get one field.
"""

from __future__ import annotations

GOALS: dict[str, tuple[str, ...]] = {
    "wonen": (
        "Een betaalbare woning vinden",
        "Huurachterstand inlopen",
        "Woning op orde brengen",
        "Inschrijven bij woningcorporatie",
    ),
    "gezin": (
        "Meer rust in het gezin",
        "Kinderopvang regelen",
        "Goede afspraken met ex-partner",
        "Vaste dagstructuur voor de kinderen",
    ),
    "gezondheid": (
        "Beter slapen",
        "Meer bewegen, elke dag wandelen",
        "Hulp zoeken voor stress",
        "Naar de tandarts gaan",
    ),
    "sociaal_netwerk": (
        "Nieuwe mensen leren kennen",
        "Vrijwilligerswerk doen",
        "Contact met familie herstellen",
        "Lid worden van een sportclub",
    ),
    "schulden": (
        "Schulden op een rij zetten",
        "Betalingsregeling treffen",
        "Aanmelden bij schuldhulpverlening",
        "Geen nieuwe schulden maken",
    ),
    "spaargeld": (
        "Buffer van 500 euro opbouwen",
        "Elke maand 25 euro sparen",
        "Spaarrekening openen",
        'Sparen voor een "noodpot"',
    ),
    "diploma": (
        "Taalcursus afronden",
        "MBO-opleiding starten",
        "Rijbewijs halen",
        "Certificaat heftruck halen",
    ),
    "netto_inkomen": (
        "Betaald werk vinden",
        "Meer uren werken",
        "Toeslagen aanvragen",
        "Kwijtschelding gemeentelijke belastingen aanvragen",
    ),
}

ACTIONS: tuple[str, ...] = (
    "Elke week het budget bijhouden",
    "Gesprek plannen met de buddy",
    "Formulieren invullen met hulp",
    "Afspraak maken bij het WIJ-team",
    "Drie vacatures per week bekijken",
    "Post openen en sorteren; elke maandag",
    "Bellen met de schuldeiser",
    "Cursus zoeken in de buurt",
    "Kasboek bijhouden",
    "Aanvraag indienen via DigiD",
)
CHALLENGES: tuple[str, ...] = (
    "Weinig tijd door zorg voor kinderen",
    "Stress en piekeren",
    "Moeite met papierwerk",
    "Geen vervoer",
    "De taal",
    "Schaamte om hulp te vragen",
    "Gezondheidsklachten",
    "Onregelmatige werktijden",
    "Geen geld voor de eerste stap",
)
HELPERS: tuple[str, ...] = (
    "Buddy",
    "Zus",
    "Moeder",
    "WIJ-team",
    "Schuldhulpverlener",
    "Vriendin",
    "Werkcoach",
    "Huisarts",
    "Buurvrouw",
    "Buddy; en mijn zus",
)

ZUIDPLAS_NOTES: tuple[str, ...] = (
    "Brief gestuurd, geen reactie",
    "Huisbezoek gedaan",
    "Afspraak met energieleverancier, regeling getroffen",
    "Doorverwezen naar schuldhulpverlening",
    "Telefonisch contact",
    "Cliënt wil eerst zelf proberen",
    'Melding via "Vroeg Eropaf"',
    "Eerste gesprek gevoerd.\nVervolg over twee weken",
    "Budgetplan opgesteld",
    "Wachten op reactie woningcorporatie",
)

AALSMEER_PLANS: tuple[str, ...] = (
    "Administratie op orde; budgetcoaching",
    "Ondersteuning bij aanvraag toeslagen",
    "Gesprekken over opvoeding",
    "Zoeken naar passende woning",
    "Begeleiding naar werk",
    "Inzet maatschappelijk werk",
    "Schulden in kaart, aanmelding Plangroep",
    "Taalles en inburgering regelen",
    "Mantelzorgondersteuning",
    "Cliënt wil hulp bij financiën",
    "Begeleiding naar scholing; daarna evaluatie met cliënt",
)

HENGELO_HEALTH: tuple[str, ...] = (
    "Diabetes type 2",
    "Rugklachten",
    "Depressieve klachten, onder behandeling",
    "Astma",
    "Slaapproblemen",
    "Chronische pijn",
    "Angstklachten",
    "Hoge bloeddruk",
    "Revalideert na operatie",
)

BREDA_JOBS: tuple[str, ...] = (
    "schoonmaker",
    "chauffeur",
    "verkoopmedewerker",
    "magazijnmedewerker",
    "zorgmedewerker",
    "kok",
    "bouwvakker",
    "administratief medewerker",
    "kapper",
    "productiemedewerker",
    "geen",
)
BREDA_WORK_HISTORY: tuple[str, ...] = (
    "Jaren in de schoonmaak gewerkt",
    "Uitzendwerk, steeds korte contracten",
    "Eigen bedrijf gehad, failliet gegaan",
    "Nooit betaald werk gehad",
    "Vast contract in de zorg tot ziekte",
    "Werkt parttime; wil meer uren",
    "Laatste baan 2019, daarna bijstand",
)
BREDA_PROBLEMS: tuple[str, ...] = (
    "Hoge schulden, dreigende huisuitzetting",
    "Schulden en psychische klachten",
    "Stapeling van problemen: geld, werk, opvoeding",
    "Energieschuld en afsluiting dreigt",
    "Echtscheiding, geen zicht op inkomen",
    "Verslaving en schulden; kinderen in beeld bij jeugdzorg",
    "Toeslagenaffaire gedupeerde, veel instanties",
    'Vastgelopen tussen regelingen ("van het kastje naar de muur")',
)
