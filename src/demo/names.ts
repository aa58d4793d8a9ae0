import type { SeasonProfile } from './calendar.js'

/**
 * The vocabulary of the demo wholesaler: its product groups, the names of customers, suppliers,
 * people and places. Plain data; the catalog draws from it with the seeded generator.
 */

export const INDUSTRIES = ['Handwerk', 'Industrie', 'Handel', 'Bau', 'Gastronomie'] as const
export type Industry = (typeof INDUSTRIES)[number]
export const INDUSTRY_WEIGHTS = [0.32, 0.2, 0.16, 0.22, 0.1]
const INDUSTRY_LETTERS = 'HIDBG'

export const REGIONS = ['Nord', 'Süd', 'West', 'Ost'] as const
export const SIZE_BANDS = ['S', 'M', 'L', 'XL'] as const
export type SizeBand = (typeof SIZE_BANDS)[number]
export const SIZE_WEIGHTS = [0.5, 0.3, 0.15, 0.05]

export type VariantStyle = 'dim' | 'volt' | 'size' | 'len' | 'vol' | 'kg' | 'model' | 'pack'

export interface GroupSpec {
  name: string
  season: SeasonProfile
  /** Affinity of each industry (in `INDUSTRIES` order) for the group, 0 … 3. */
  affinity: number[]
  /** Mean net value of one order line for a small customer, EUR. */
  lineValue: number
  unit: string
  /** Quantity of a typical line for a small customer. */
  typicalQty: number
  stems: string[]
  variant: VariantStyle
}

// name | season | affinity H I D B G | line value | unit | typical qty | stems | variant
const GROUPS = `
Befestigungstechnik|bau|33232|90|Pack|4|Holzschraube,Spanplattenschraube,Sechskantschraube,Gewindestange|dim
Dübel & Anker|bau|31230|110|Pack|3|Nylondübel,Schwerlastanker,Hohlraumdübel,Injektionsmörtel|dim
Zement & Mörtel|bau|10130|260|Sack|12|Zement CEM II,Mauermörtel,Estrichbeton,Fliesenkleber|kg
Trockenbau|bau|20130|320|Stk|20|Gipskartonplatte,CW-Profil,UW-Profil,Spachtelmasse|dim
Dämmstoffe|bau|20130|380|Paket|8|Mineralwolle,EPS-Dämmplatte,XPS-Platte,Trittschalldämmung|dim
Abdichtung & Bitumen|bau|20130|240|Stk|6|Bitumenbahn,Dichtschlämme,Dichtband,Voranstrich|len
Bauchemie & Kleber|bau|31230|150|Stk|8|Montagekleber,PU-Schaum,Silikon,Acryl|vol
Leitern & Gerüste|bau|22120|420|Stk|1|Stehleiter,Mehrzweckleiter,Fahrgerüst,Podestleiter|model
Schalung & Bewehrung|bau|00030|520|Stk|10|Schalungsplatte,Betonstahlmatte,Abstandhalter,Rödeldraht|dim
Pflaster & Randsteine|garten|10130|610|Palette|1|Betonpflaster,Rasenkantenstein,Bordstein,Splitt|kg
Dachentwässerung|bau|30120|230|Stk|6|Dachrinne,Fallrohr,Rinnenhaken,Laubfang|len
Baustellenbedarf|bau|11130|140|Stk|4|Absperrband,Baustellenleuchte,Bautür,Mörtelkübel|model
Akku-Werkzeuge|flat|33222|480|Stk|1|Akku-Bohrschrauber,Akku-Schlagschrauber,Akku-Winkelschleifer,Akku-Säbelsäge|volt
Netz-Werkzeuge|flat|32222|390|Stk|1|Bohrhammer,Winkelschleifer,Stichsäge,Kreissäge|volt
Handwerkzeuge|flat|33321|120|Stk|2|Schraubendreher-Set,Wasserpumpenzange,Hammer,Maulschlüssel-Satz|model
Messwerkzeuge|flat|32220|170|Stk|1|Wasserwaage,Laser-Entfernungsmesser,Zollstock,Kreuzlinienlaser|model
Bohrer & Bits|flat|33221|85|Pack|3|HSS-Bohrer,Steinbohrer,SDS-plus-Bohrer,Bit-Set|dim
Trennen & Schleifen|flat|33221|95|Pack|5|Trennscheibe,Fächerschleifscheibe,Schleifpapier,Diamanttrennscheibe|dim
Sägeblätter|flat|22120|110|Stk|3|Kreissägeblatt,Stichsägeblatt,Säbelsägeblatt,Bandsägeblatt|dim
Werkzeugaufbewahrung|flat|22210|160|Stk|1|Werkzeugkoffer,Systainer,Werkzeugwagen,Sortimentskasten|model
Arbeitshandschuhe|flat|23322|70|Pack|6|Montagehandschuh,Nitrilhandschuh,Schnittschutzhandschuh,Winterhandschuh|size
Schutzkleidung|flat|23232|190|Stk|4|Arbeitshose,Warnschutzjacke,Softshelljacke,Latzhose|size
Sicherheitsschuhe|flat|23230|240|Paar|2|Sicherheitsschuh S3,Sicherheitsstiefel,Sicherheitssandale,Winterstiefel S3|size
Atemschutz|flat|23220|90|Pack|4|FFP2-Maske,FFP3-Maske,Halbmaske,Filterpatrone|pack
Augen- & Gehörschutz|flat|23220|60|Pack|4|Schutzbrille,Gehörschutzstöpsel,Kapselgehörschutz,Vollsichtbrille|pack
Erste Hilfe|flat|12211|55|Stk|2|Verbandkasten DIN 13157,Augenspülflasche,Pflasterspender,Rettungsdecke|model
Kabel & Leitungen|flat|32220|310|Ring|3|Mantelleitung NYM-J,Gummischlauchleitung,Erdkabel NYY-J,Steuerleitung|len
Installationsmaterial|flat|32210|130|Pack|5|Abzweigdose,Kabelkanal,Wago-Klemme,Leerrohr|pack
Schalter & Steckdosen|flat|31210|140|Stk|10|Schuko-Steckdose,Wechselschalter,Rahmen 3-fach,Dimmer|model
Leuchten & Leuchtmittel|flat|22311|210|Stk|6|LED-Panel,LED-Röhre,Feuchtraumleuchte,LED-Strahler|model
Sicherungen & Verteiler|flat|32110|260|Stk|4|Leitungsschutzschalter,FI-Schalter,Unterverteiler,Zählerschrank|model
Rohre & Fittings|flat|31220|220|Stk|10|Kupferrohr,Pressfitting,Verbundrohr,Gewindefitting|dim
Sanitärarmaturen|flat|30210|280|Stk|2|Waschtischarmatur,Thermostat,Eckventil,Spültischarmatur|model
Heizkörper|heizung|30110|540|Stk|2|Kompaktheizkörper,Badheizkörper,Thermostatkopf,Heizkörperventil|dim
Heizungstechnik|heizung|31110|460|Stk|1|Heizungspumpe,Ausdehnungsgefäß,Raumthermostat,Mischventil|model
Kunststoffrohre|flat|20130|190|Stk|8|HT-Rohr,KG-Rohr,PE-Rohr,Abwasserbogen|dim
Antriebstechnik|flat|03100|330|Stk|6|Rillenkugellager,Keilriemen,Kettenrad,Lagerbock|dim
Hydraulik & Pneumatik|flat|03100|380|Stk|4|Hydraulikschlauch,Pneumatikzylinder,Druckregler,Steckkupplung|model
Schmierstoffe & Öle|flat|23210|160|Stk|6|Hydrauliköl,Mehrzweckfett,Schneidöl,Kettenspray|vol
DIN- & Normteile|flat|13200|120|Pack|8|Unterlegscheibe,Sechskantmutter,Zylinderschraube,Passfeder|dim
Schweißtechnik|flat|23120|290|Stk|3|Schweißdraht,Schweißelektrode,Schweißhelm,Schutzgas|kg
Klebebänder & Dichtstoffe|flat|22220|80|Pack|6|Gewebeband,Malerkrepp,Doppelseitiges Klebeband,Dichtungsband|len
Druckluftwerkzeuge|flat|13110|350|Stk|1|Kompressor,Druckluft-Schlagschrauber,Druckluftnagler,Ausblaspistole|model
Verpackungsmaterial|flat|03301|170|Karton|10|Faltkarton,Stretchfolie,Luftpolsterfolie,Packband|dim
Lager & Regale|flat|13300|640|Stk|1|Schwerlastregal,Fachbodenregal,Sichtlagerkasten,Palettenregal|model
Transportgeräte|flat|13310|420|Stk|1|Sackkarre,Plattformwagen,Hubwagen,Transportroller|model
Reinigungsmittel|flat|12213|110|Kanister|4|Allzweckreiniger,Handwaschpaste,Industriereiniger,Glasreiniger|vol
Hygienepapier|flat|12313|130|Karton|4|Papierhandtuch,Toilettenpapier,Putzrolle,Spenderrolle|pack
Betriebsbedarf|flat|12311|90|Pack|5|Müllsack,Etikettendrucker,Kabelbinder,Markierstift|pack
Gastro-Reinigung|gastro|00103|150|Kanister|4|Spülmaschinenreiniger,Klarspüler,Grillreiniger,Flächendesinfektion|vol
Einweg & To-go|gastro|00103|120|Karton|6|Kaffeebecher,Menüschale,Serviette,Trinkhalm|pack
Gastro-Küchengeräte|gastro|00103|520|Stk|1|Kombidämpfer-Zubehör,Gastronorm-Behälter,Profi-Messer,Schneidebrett|model
Gastro-Textilien|gastro|00103|160|Stk|6|Kochjacke,Bistroschürze,Geschirrtuch,Tischdecke|size
Getränkezubehör|gastro|00103|140|Stk|6|Zapfanlagenreiniger,Gläserspüler-Bürste,Bierdeckel,CO2-Flasche|model
Gartengeräte|garten|20220|150|Stk|2|Spaten,Heckenschere,Laubbläser,Rasenmäher|model
Bewässerung|garten|10120|120|Stk|3|Gartenschlauch,Schlauchtrommel,Regner,Tropfschlauch|len
Winterdienst|heizung|11231|180|Sack|10|Streusalz,Schneeschieber,Streuwagen,Splitt-Streugut|kg
Farben & Lacke|bau|30220|210|Eimer|4|Dispersionsfarbe,Grundierung,Holzlasur,Metallschutzlack|vol
Malerbedarf|bau|30220|90|Stk|6|Farbrolle,Abdeckfolie,Flachpinsel,Abdeckvlies|dim
Holz & Platten|bau|30130|360|Stk|10|OSB-Platte,Konstruktionsvollholz,Dachlatte,Multiplexplatte|dim`

export const GROUP_SPECS: GroupSpec[] = GROUPS.trim()
  .split('\n')
  .map((line) => {
    const [name = '', season, aff = '', value, unit = '', qty, stems = '', variant] = line.split('|')
    return {
      name,
      season: season as SeasonProfile,
      affinity: [...INDUSTRY_LETTERS].map((_, i) => Number(aff[i] ?? 0)),
      lineValue: Number(value),
      unit,
      typicalQty: Number(qty),
      stems: stems.split(','),
      variant: variant as VariantStyle,
    }
  })

const VARIANTS: Record<VariantStyle, string[]> = {
  dim: ['4x40', '5x60', '6x80', '8x100', '10x120', '3,5x30', '12x160', '4,5x50', '6x60', '8x80'],
  volt: ['18 V 2,0 Ah', '18 V 4,0 Ah', '18 V 5,0 Ah', '12 V', '36 V', 'Solo', '230 V 800 W', '230 V 1.100 W'],
  size: ['Gr. 8', 'Gr. 9', 'Gr. 10', 'Gr. 11', 'Gr. S', 'Gr. M', 'Gr. L', 'Gr. XL', 'Gr. 42', 'Gr. 44'],
  len: ['10 m', '25 m', '50 m', '100 m', '5 m', '2 m', '3 m', '20 m'],
  vol: ['1 l', '5 l', '10 l', '12,5 l', '0,5 l', '310 ml', '750 ml', '25 l'],
  kg: ['25 kg', '30 kg', '40 kg', '15 kg', '5 kg', '1.000 kg', '10 kg'],
  model: ['Profi', 'Basic', 'Premium', 'XL', 'Kompakt', 'Typ 2', 'Typ 3', 'Plus', 'Pro 2000', 'Eco'],
  pack: ['10 Stk', '20 Stk', '50 Stk', '100 Stk', '200 Stk', '500 Stk', '1.000 Stk', '12 Stk'],
}

/** The name of the `i`-th product of a group, e.g. `Holzschraube 5x60 Profi`. */
export function productName(spec: GroupSpec, i: number): string {
  const stem = spec.stems[i % spec.stems.length] ?? spec.name
  const variants = VARIANTS[spec.variant]
  const v = variants[Math.floor(i / spec.stems.length) % variants.length]
  const line = Math.floor(i / (spec.stems.length * variants.length))
  return line === 0 ? `${stem} ${v}` : `${stem} ${v} ${VARIANTS.model[line % VARIANTS.model.length]}`
}

/** Splits a block of space-separated words. */
function words(text: string): string[] {
  return text.trim().split(/\s+/)
}

export const FIRST_NAMES = words(`
Anna Lukas Julia Maximilian Sophie Felix Laura Jonas Lea Paul Marie Tobias Katharina Stefan
Sabine Thomas Claudia Michael Andrea Markus Petra Jan Nina Florian Carina Sebastian Melanie
Daniel Heike Alexander Birgit Kerstin Frank Jörg Ayşe Mehmet Olga Piotr Elif Dragan
`)
export const LAST_NAMES = words(`
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer
Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange
Schmitt Werner Schmitz Krause Meier Lehmann Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß
Jung Hahn Vogel Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Albrecht Yilmaz
Kowalski Franke Brandt Haas Sommer Graf Dietrich
`)

export const CITIES: Record<(typeof REGIONS)[number], string[]> = {
  Nord: ['Hamburg', 'Bremen', 'Kiel', 'Hannover', 'Lübeck', 'Oldenburg', 'Osnabrück', 'Rostock', 'Flensburg'],
  Süd: [
    'München',
    'Stuttgart',
    'Augsburg',
    'Nürnberg',
    'Regensburg',
    'Freiburg',
    'Ulm',
    'Würzburg',
    'Passau',
  ],
  West: ['Köln', 'Düsseldorf', 'Dortmund', 'Essen', 'Aachen', 'Münster', 'Bonn', 'Duisburg', 'Bielefeld'],
  Ost: ['Berlin', 'Leipzig', 'Dresden', 'Erfurt', 'Magdeburg', 'Potsdam', 'Chemnitz', 'Halle', 'Jena'],
}

/** Business words for customer names, per industry (in `INDUSTRIES` order). */
export const TRADES: string[][] = [
  ['Haustechnik', 'Elektrotechnik', 'Sanitär', 'Malerbetrieb', 'Schreinerei', 'Metallbau', 'Dachdeckerei'],
  ['Maschinenbau', 'Präzisionstechnik', 'Kunststofftechnik', 'Anlagenbau', 'Fahrzeugteile', 'Stahlbau'],
  ['Handelsgesellschaft', 'Fachhandel', 'Baufachmarkt', 'Werkzeughandel', 'Industriebedarf'],
  ['Bauunternehmung', 'Hoch- und Tiefbau', 'Straßenbau', 'Bauservice', 'Ausbau', 'Gartenbau'],
  ['Gasthaus', 'Hotel', 'Catering', 'Restaurant', 'Brauhaus', 'Kantine'],
]
export const LEGAL_FORMS = ['GmbH', 'GmbH', 'GmbH & Co. KG', 'KG', 'e.K.', 'GmbH']

export const SUPPLIER_WORDS = [
  'Befestigungssysteme',
  'Werkzeugfabrik',
  'Elektro-Vertrieb',
  'Baustoffwerke',
  'Arbeitsschutz',
  'Industrietechnik',
  'Haustechnik-Vertrieb',
  'Chemie',
  'Verpackung',
  'Gastrobedarf',
]

/** Complaint reason codes of customers, with how often each occurs. */
export const CUSTOMER_REASONS: [string, number][] = [
  ['LIEFERVERZUG', 0.25],
  ['FALSCHLIEFERUNG', 0.2],
  ['BESCHAEDIGUNG', 0.2],
  ['QUALITAET', 0.15],
  ['RECHNUNG', 0.1],
  ['SERVICE', 0.1],
]

export const NPS_COMMENTS: Record<'low' | 'mid' | 'high', string[]> = {
  low: [
    'Lieferungen kommen zu oft unvollständig.',
    'Preise sind im Vergleich deutlich höher geworden.',
    'Reklamationen dauern viel zu lange.',
    'Der Außendienst meldet sich kaum noch.',
  ],
  mid: [
    'Im Großen und Ganzen okay.',
    'Shop ist gut, Lieferzeiten schwanken.',
    'Sortiment passt, Service mittel.',
  ],
  high: [
    'Schnelle Lieferung, gute Beratung.',
    'Zuverlässiger Partner seit Jahren.',
    'Shop und Außendienst top.',
    'Bestellung über den Shop geht schnell und einfach.',
  ],
}
