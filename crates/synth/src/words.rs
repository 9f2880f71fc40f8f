//! Word lists for names: people, streets, neighbourhoods and venues. First and last names are
//! ASCII letters only (handles are built from them, followed by digits), at most 10 each.

/// First names (a mix as diverse as New York's).
#[rustfmt::skip]
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Aaliyah", "Aaron", "Abigail", "Adam", "Aditi", "Adrian", "Ahmed", "Aiden", "Aisha", "Alejandro", "Alex",
    "Alice", "Amara", "Amir", "Ana", "Andre", "Andrew", "Angela", "Anika", "Anna", "Arjun", "Ava", "Ayesha",
    "Beatriz", "Ben", "Bianca", "Brandon", "Bruno", "Caleb", "Camila", "Carlos", "Carmen", "Charlotte", "Chen",
    "Chloe", "Chris", "Claire", "Daniel", "Daniela", "David", "Deepa", "Devon", "Diana", "Diego", "Dmitri", "Elena",
    "Eli", "Elijah", "Emily", "Emma", "Eric", "Esther", "Ethan", "Eva", "Fatima", "Felix", "Fernando", "Gabriel",
    "Grace", "Hana", "Hannah", "Hassan", "Hector", "Hiro", "Ibrahim", "Imani", "Isaac", "Isabella", "Ivan", "Jack",
    "Jada", "James", "Jamal", "Jasmine", "Javier", "Jenna", "Jin", "Joao", "Jordan", "Jose", "Joy", "Julia",
    "Julian", "Kai", "Karina", "Keisha", "Kenji", "Kevin", "Kiara", "Kofi", "Laila", "Lars", "Laura", "Leah", "Leo",
    "Liam", "Lily", "Lin", "Lucas", "Lucia", "Luis", "Malik", "Marco", "Maria", "Mateo", "Maya", "Mei", "Mia",
    "Michael", "Min", "Mohammed", "Nadia", "Naomi", "Natalia", "Nathan", "Nia", "Nico", "Nina", "Noah", "Olga",
    "Olivia", "Omar", "Oscar", "Pablo", "Priya", "Rafael", "Rahul", "Rania", "Ravi", "Rebecca", "Ricardo", "Rosa",
    "Ryan", "Sakura", "Samir", "Sara", "Sean", "Sofia", "Sophie", "Stefan", "Sunita", "Tariq", "Tessa", "Theo",
    "Thomas", "Tomas", "Valentina", "Victor", "Wei", "Xavier", "Yara", "Yuki", "Yusuf", "Zara", "Zoe",
];

/// Last names.
#[rustfmt::skip]
pub(crate) const LAST_NAMES: &[&str] = &[
    "Abbott", "Adeyemi", "Ahmed", "Alvarez", "Anderson", "Bailey", "Banerjee", "Bennett", "Brooks", "Brown",
    "Castillo", "Chan", "Chen", "Cho", "Cohen", "Collins", "Cruz", "Davis", "Diaz", "Dubois", "Edwards", "Evans",
    "Fernandez", "Fischer", "Flores", "Garcia", "Goldberg", "Gomez", "Gonzalez", "Gupta", "Hall", "Harris",
    "Hernandez", "Hoang", "Huang", "Ito", "Jackson", "Jensen", "Johnson", "Jones", "Kapoor", "Kaur", "Kelly", "Khan",
    "Kim", "Kowalski", "Kumar", "Lee", "Levy", "Lewis", "Li", "Lin", "Liu", "Lopez", "Martin", "Martinez", "Mehta",
    "Miller", "Mitchell", "Moore", "Morales", "Murphy", "Nakamura", "Nguyen", "Novak", "Obi", "Okafor", "Oliveira",
    "Ortiz", "Park", "Patel", "Perez", "Petrov", "Phillips", "Popescu", "Quinn", "Ramirez", "Reyes", "Rivera",
    "Roberts", "Robinson", "Rodriguez", "Romero", "Rossi", "Russo", "Saito", "Sanchez", "Santos", "Schmidt", "Shah",
    "Silva", "Singh", "Smith", "Sokolov", "Suzuki", "Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Tran",
    "Turner", "Walker", "Wang", "Washington", "White", "Williams", "Wilson", "Wong", "Wu", "Yamamoto", "Yang",
    "Young", "Zhang", "Zhou",
];

/// Email domains for users who have one.
#[rustfmt::skip]
pub(crate) const EMAIL_DOMAINS: &[&str] =
    &[
    "example.com", "example.org", "example.net", "mail.example.com", "inbox.example.org",
];

/// Street names for addresses.
#[rustfmt::skip]
pub(crate) const STREETS: &[&str] = &[
    "Bedford Ave", "Broadway", "Bleecker St", "Canal St", "Court St", "Delancey St", "Driggs Ave", "Flatbush Ave",
    "Franklin St", "Fulton St", "Grand St", "Greenwich Ave", "Hudson St", "Jay St", "Kent Ave", "Lafayette St",
    "Lexington Ave", "Lorimer St", "Madison Ave", "Main St", "Mercer St", "Metropolitan Ave", "Mott St",
    "Nostrand Ave", "Orchard St", "Park Ave", "Prince St", "Rivington St", "Smith St", "Spring St", "St Marks Pl",
    "Steinway St", "Vernon Blvd", "Wall St", "Washington Ave", "Water St", "Wythe Ave", "1st Ave", "2nd Ave",
    "3rd Ave", "5th Ave", "7th Ave", "8th Ave", "9th Ave", "10th Ave", "Avenue A", "Avenue B", "Avenue C",
    "W 4th St", "E 7th St", "W 14th St", "E 23rd St", "W 28th St", "E 34th St", "W 45th St", "E 58th St", "30th Ave",
    "36th Ave", "Ditmars Blvd", "Myrtle Ave", "DeKalb Ave", "Atlantic Ave", "Union St", "Bergen St",
];

/// Neighbourhood names (invented, so they fit any city centre).
#[rustfmt::skip]
pub(crate) const HOOD_NAMES: &[&str] = &[
    "Riverside", "Old Town", "Market District", "Harbor Point", "Arts Quarter", "Union Square", "Northgate",
    "Eastbridge", "West Village Green", "Mill Yards", "Chapel Hill", "Lantern Row", "Foundry District", "Parkside",
    "Canal Heights", "Little Orchard", "Station Square", "Copper Flats", "Linden Park", "Bayview", "The Docks",
    "Garment Row", "Crown Heights North", "Cedar Grove", "Ironworks", "Greenpoint Landing", "Tidewater",
    "Maple Commons", "Hillcrest", "Brickyard", "Silk Street", "Ferry Landing", "University Heights", "Midtown East",
    "Financial Row", "South Slope", "Kingsbridge", "Willow Bend", "Printers Alley", "Jade Gardens",
    "Fountain Square", "Lower Piers", "Prospect Terrace", "Saint Marks", "Orchard End",
];

/// Adjectives for venue names.
#[rustfmt::skip]
pub(crate) const ADJECTIVES: &[&str] = &[
    "Golden", "Little", "Blue", "Red", "Silver", "Lucky", "Happy", "Old", "Velvet", "Wild", "Hidden", "Jade",
    "Copper", "Rusty", "Secret", "Midnight", "Sunny", "Green", "Crimson", "Brass", "Salty", "Smoky", "Neon",
    "Humble", "Grand", "Tiny", "Hungry", "Noble", "Crooked", "Electric",
];

/// Nouns for bars and music rooms.
#[rustfmt::skip]
pub(crate) const NOUNS: &[&str] = &[
    "Fox", "Owl", "Anchor", "Lantern", "Crow", "Stag", "Rabbit", "Tiger", "Crane", "Harbor", "Parlor", "Cellar",
    "Room", "Garden", "Lamp", "Door", "Key", "Whale", "Bee", "Moon", "Star", "Pigeon", "Heron", "Barrel", "Spoon",
    "Kettle", "Compass", "Monkey", "Bear", "Pearl",
];

/// Name nouns per cuisine (index as in `catalog::CUISINES`).
pub(crate) const CUISINE_NOUNS: [&[&str]; 20] = [
    &["Izakaya", "Kitchen", "Table", "Bento"],
    &["Ramen", "Noodle Bar", "Ramen House"],
    &["Sushi", "Omakase", "Sushi Bar"],
    &["Trattoria", "Osteria", "Pasta Bar", "Cucina"],
    &["Pizza", "Pizzeria", "Slice Shop"],
    &["Taqueria", "Cantina", "Tacos", "Cocina"],
    &["Thai Kitchen", "Noodle House", "Thai"],
    &["Curry House", "Tandoor", "Masala Kitchen"],
    &["Dumpling House", "Noodle Shop", "Wok", "Dim Sum"],
    &["BBQ", "Pocha", "Kitchen", "Bap"],
    &["Bistro", "Brasserie", "Cafe"],
    &["Diner", "Grill", "Burger Bar", "Kitchen", "Smokehouse"],
    &["Mezze", "Grill", "Taverna"],
    &["Greens", "Plant Kitchen", "Garden"],
    &["Pho", "Banh Mi", "Kitchen"],
    &["Taverna", "Souvlaki", "Estiatorio"],
    &["Tapas", "Bodega", "Taberna"],
    &["Falafel", "Shawarma", "Mezze House"],
    &["Jerk Shack", "Kitchen", "Rum Shack"],
    &["Injera House", "Kitchen", "Table"],
];

/// Suffixes for venue names by category (index as in `Category::ALL`).
pub(crate) const CATEGORY_SUFFIXES: [&[&str]; 7] = [
    &["House", "Kitchen", "Table", "Eatery", "Place"],
    &["Tavern", "Lounge", "Taproom", "Social Club", "Bar", "Saloon", "Pub"],
    &["Coffee", "Cafe", "Roasters", "Espresso Bar", "Bakery", "Tea House"],
    &["Hall", "Ballroom", "Music Room", "Jazz Club", "Stage", "Listening Bar"],
    &["Comedy Club", "Comedy Cellar", "Laugh Lounge", "Improv Theater", "Stand-Up Room"],
    &["Karaoke", "Karaoke Lounge", "Sing Rooms", "Noraebang", "Mic Club"],
    &["Sports Bar", "Lanes", "Arena Bar", "Athletic Club", "Game Room", "Billiards"],
];

/// Describing words used in venue descriptions, per ambiance tag (index as in `catalog::TAGS`).
pub(crate) const AMBIANCE_WORDS: [&str; 10] = [
    "cozy",
    "lively",
    "romantic",
    "rooftop",
    "sunny patio",
    "live-music",
    "quiet",
    "trendy",
    "family-friendly",
    "late-night",
];
