"""Demo articles and reader comments, written for this project (not taken from any outlet).

Comments come in the six languages the engine knows; a few break the guidelines on purpose
so the moderation queue and the automatic decisions have something to show."""

ARTICLES = [
    {
        "slug": "iraq-us-security-talks",
        "title": "Iraq and the United States open a new round of security talks",
        "language": "en",
        "body": (
            "Iraqi and American delegations met in Baghdad on Tuesday for a new round of talks on "
            "the future of the international coalition and the US military advisers still based in "
            "the country.\n\n"
            "Officials from both sides said the discussions covered a timetable for moving from a "
            "military mission to a bilateral security partnership, continued training for Iraqi "
            "forces, and intelligence sharing against the remaining cells of the Islamic State group.\n\n"
            "The Iraqi foreign ministry described the meeting as constructive and said a joint "
            "committee would meet again within a month. Several political blocs in parliament have "
            "called for a firm withdrawal date, while Kurdish officials in Erbil urged that any "
            "arrangement keep support for the Peshmerga in place."
        ),
    },
    {
        "slug": "city-council-night-buses",
        "title": "City council approves a trial of night buses on four routes",
        "language": "en",
        "body": (
            "The city council voted 31 to 9 on Monday to run night buses on four routes for a "
            "six-month trial starting in spring. Buses will run every 30 minutes between midnight "
            "and five in the morning, linking the hospital district, the university and the two "
            "largest industrial estates.\n\n"
            "Supporters said shift workers and students have no safe way home after the last metro. "
            "Opponents questioned the cost, estimated at 2.4 million a year, and asked for passenger "
            "counts to be published monthly."
        ),
    },
    {
        "slug": "river-clean-up-volunteers",
        "title": "Volunteers pull two tonnes of plastic from the river in one weekend",
        "language": "en",
        "body": (
            "More than 600 volunteers spent the weekend clearing plastic, tyres and fishing nets "
            "from the banks of the river. Organisers said the haul was the largest since the "
            "clean-up began five years ago and asked the municipality for more bins near the "
            "popular picnic spots."
        ),
    },
]

# (article slug, author, text, language hint or None, reply to index in this list or None)
COMMENTS = [
    (
        "iraq-us-security-talks",
        "Sarah K.",
        "A clear timetable would help everyone plan. Good that training continues.",
        None,
        None,
    ),
    (
        "iraq-us-security-talks",
        "Omar",
        "Agreed, but parliament should see the text before anything is signed.",
        None,
        0,
    ),
    (
        "iraq-us-security-talks",
        "Dilan",
        "The article rightly mentions Erbil. Support for the Peshmerga matters for stability.",
        None,
        None,
    ),
    ("iraq-us-security-talks", "Mike", "Anyone who supports this deal is an idiot.", None, None),
    (
        "iraq-us-security-talks",
        "Hassan",
        "المحادثات خطوة جيدة، لكن نريد جدولاً زمنياً واضحاً لانسحاب القوات.",
        "ar",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Layla",
        "أتمنى أن تركز اللجنة المشتركة على تدريب القوات العراقية وتبادل المعلومات.",
        "ar",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Reza",
        "این گفتگوها برای امنیت منطقه مهم است و امیدوارم به نتیجه برسد.",
        "fa",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Maryam",
        "به نظر من مجلس عراق باید درباره زمان خروج نیروها تصمیم بگیرد.",
        "fa",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Emre",
        "Bu görüşmelerin bölgedeki istikrara katkı sağlamasını umuyorum.",
        "tr",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Aylin",
        "Ortak komitenin bir ay içinde yeniden toplanması olumlu bir adım.",
        "tr",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Karwan",
        "ئەم دانوستانانە گرنگن بۆ ئاسایشی هەرێم و عێراق.",
        "ckb",
        None,
    ),
    ("iraq-us-security-talks", "Shilan", "هیوادارم پشتگیری بۆ پێشمەرگە بەردەوام بێت.", "ckb", None),
    (
        "iraq-us-security-talks",
        "Rojhat",
        "Ev danûstandin ji bo ewlehiya herêmê girîng in.",
        "kmr",
        None,
    ),
    (
        "iraq-us-security-talks",
        "Berfîn",
        "Hêvîdar im ku komîteya hevbeş zû encamekê bide.",
        "kmr",
        None,
    ),
    (
        "iraq-us-security-talks",
        "DealsNow",
        "Earn $500 a day from home!!! Visit www.quick-cash-now.example and WhatsApp +1 555 0100",
        None,
        None,
    ),
    (
        "iraq-us-security-talks",
        "Tom",
        "I wonder how the intelligence sharing will work in practice.",
        None,
        None,
    ),
    (
        "iraq-us-security-talks",
        "Nadia",
        "Will the joint committee publish minutes? Transparency would help.",
        None,
        15,
    ),
    (
        "city-council-night-buses",
        "Priya",
        "Finally. I finish my hospital shift at 1am and taxis cost a fortune.",
        None,
        None,
    ),
    (
        "city-council-night-buses",
        "George",
        "2.4 million is a lot. I hope they publish the passenger counts as promised.",
        None,
        None,
    ),
    (
        "city-council-night-buses",
        "Lena",
        "Monthly figures are a fair condition. Let's see after six months.",
        None,
        18,
    ),
    ("city-council-night-buses", "Ahmed", "هذا قرار ممتاز للعمال والطلاب.", "ar", None),
    (
        "city-council-night-buses",
        "Zeynep",
        "Gece otobüsleri öğrenciler için çok faydalı olacak.",
        "tr",
        None,
    ),
    (
        "city-council-night-buses",
        "Sina",
        "اتوبوس شبانه برای کارگران شیفت شب واقعاً لازم بود.",
        "fa",
        None,
    ),
    ("city-council-night-buses", "Hawre", "ئەمە هەنگاوێکی باشە بۆ خوێندکاران.", "ckb", None),
    (
        "city-council-night-buses",
        "Jiyan",
        "Otobusên şevê ji bo xwendekaran pir baş in.",
        "kmr",
        None,
    ),
    (
        "city-council-night-buses",
        "Bob",
        "The council members who voted no are useless idiots.",
        None,
        None,
    ),
    (
        "city-council-night-buses",
        "Carla",
        "Why not extend the metro hours instead? Might be cheaper.",
        None,
        None,
    ),
    (
        "city-council-night-buses",
        "Dan",
        "The metro tunnels need maintenance at night, that's the usual reason.",
        None,
        26,
    ),
    (
        "city-council-night-buses",
        "Ines",
        "Is the university stop near the dormitories or the main campus?",
        None,
        None,
    ),
    (
        "river-clean-up-volunteers",
        "Marta",
        "Well done to everyone who came out. More bins near the picnic spots, please!",
        None,
        None,
    ),
    ("river-clean-up-volunteers", "Yusuf", "شكراً لكل المتطوعين، عمل رائع.", "ar", None),
    (
        "river-clean-up-volunteers",
        "Elif",
        "Harika bir çalışma, gelecek yıl ben de katılmak istiyorum.",
        "tr",
        None,
    ),
    ("river-clean-up-volunteers", "Parisa", "کار داوطلبان واقعاً ستودنی است.", "fa", None),
    ("river-clean-up-volunteers", "Soran", "دەستخۆش بۆ هەموو خۆبەخشەکان.", "ckb", None),
    ("river-clean-up-volunteers", "Baran", "Destê we xweş be, karekî pir baş e.", "kmr", None),
    (
        "river-clean-up-volunteers",
        "Pete",
        "Fishing nets are the worst. The anglers' club should help next time.",
        None,
        None,
    ),
    (
        "river-clean-up-volunteers",
        "Anna",
        "Good idea, I'm a member and will raise it at our next meeting.",
        None,
        35,
    ),
    (
        "river-clean-up-volunteers",
        "Promo Guy",
        "Follow my channel @cleanriverdeals for discount kayak rentals, DM me!",
        None,
        None,
    ),
    (
        "river-clean-up-volunteers",
        "Joe",
        "My favourite football team won again last night, what a match.",
        None,
        None,
    ),
    (
        "river-clean-up-volunteers",
        "Sam",
        "Two tonnes in one weekend is impressive. How much was plastic versus tyres?",
        None,
        None,
    ),
]
