#!/usr/bin/env python3
"""Writes a realistic leads CSV for the import benchmark (bench/imports.sh).

  python3 bench/gen_leads_csv.py --rows 1000000 --seed 42 --out /tmp/leads.csv

Ten columns, as a CRM or spreadsheet export has them:
  First Name, Last Name, Email, Phone Number, Company, Job Title, City, Source, Tags, Notes
(lms maps the first five, Source and Tags to lead fields; Job Title, City and Notes go to
`custom`). About 100 bytes a row: 1,000,000 rows are ~100 MB. CRLF line ends, UTF-8 names,
quoted fields with commas, doubled quotes and (rarely) line breaks.

Phone numbers are in mixed national and international formats. The organization's default
country is US, so numbers written without a country code are North American (US and a few
Canadian area codes: "(415) 234-5678", "415.234.5678", "1-415-234-5678", "+1 415 234 5678");
the others (GB, DE, FR, AU, IN) are written with their country code ("+44 20 7946 0123",
"+44 (0)20 7946 0123", "011 44 20 7946 0123", "+49 (0)30 1234 5678", "+33 6 12 34 56 78").
Every phone number of a valid row is valid for libphonenumber and unique after normalization
to E.164: `import_parts FILE --show-invalid 20` (bench/micro/import_parts.cpp) must count
exactly the "bad phone, no email" rows of OUT.expected.json as invalid phone cells.

Row kinds (chosen per row with a seeded PRNG, so the file is the same for a seed and a row
count on any CPython 3):
  - 5% invalid: bad phone and no email, no name, malformed email, neither phone nor email,
    too few columns (a ragged record);
  - 10% duplicates of an earlier valid, non-duplicate row: its phone in another format (new
    or no email) or its email in other letter case (new or no phone);
  - the rest valid and new: ~75% with phone and email, ~15% phone only, ~10% email only.
The exact counts the importer should report are written next to the file as JSON
(OUT.expected.json): inserted, duplicates, invalid, rows.
"""
import argparse
import json
import os
import random
import sys
import unicodedata

FIRST = """James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony
Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth
Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason
Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna
Stephen Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine
Gregory Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis
Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas
Victoria Zachary Kelly Peter Lauren Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Megan
Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Austin Martha Sean Gloria Gerald Teresa
Carl Ann Harold Sara Dylan Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan
Abigail Billy Alice Bruce Judy Gabriel Sophia Joe Grace Logan Denise Albert Amber Willie Doris Alan
Marilyn Juan Danielle Wayne Beverly Elijah Isabella Randy Theresa Roy Diana Vincent Natalie Ralph
Brittany Eugene Charlotte Russell Marie Bobby Kayla Mason Alexis Philip Lori Louis Oliver Harry
Amelia Jack Leo Mia Lucas Ella Liam Chloe Hugo Léa José María François Zoë Jürgen Björn Søren Łukasz
Chloé Renée Noémie Müge Ines Jörg Anaïs Émile Stéphane Siobhán Seán Ólafur Ana Raúl Mónica""".split()

LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez
Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green
Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan
Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker
Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz
Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley
Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan
Müller Schröder Weiß Groß Lefèvre Dubois Bernard Moreau Laurent Fournier Girard Rousseau O'Brien
O'Connor D'Angelo Núñez Peña Muñoz Kowalski Nowak Wiśniewski Johansson Sørensen Okafor Nakamura
Yamamoto Singh Sharma Kumar Gupta Das Khan Ali Hassan Ivanov Petrov Novák Dvořák Lindqvist""".split()

COMPANY_A = """Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Cyberdyne Tyrell
Oscorp Gringotts Aperture Black Mesa Dunder Mifflin Sterling Cooper Pied Piper Massive Dynamic
Blue Sun Virtucon Monarch Nakatomi Prestige Gekko Vehement Bluth Buy More Los Pollos Krusty
Paper Street Wernham Hogg Rekall Ollivanders Zorg Tessier Ashpool Axiom Bubba Gump Duff Gannett
Northwind Contoso Fabrikam Litware Proseware Adatum Tailspin Wingtip Coho Fourth Coffee Alpine
Summit Harbor Granite Cedar Maple Pioneer Atlas Beacon Vertex Quantum Nimbus Evergreen Keystone
Silverline Redwood Bluebird Ironclad Lakeside Riverbend Brightpath Clearwater Crescent Horizon
Meridian Northstar Oakridge Pinnacle Sapphire Sunrise Trident Westfield Zenith Apex Bolt""".split()
COMPANY_B = ["Inc", "LLC", "Corp", "Ltd", "GmbH", "SA", "Group", "Partners", "Labs", "Systems",
             "Solutions", "& Co", "Inc", "LLC", "Ltd"]

TITLES = ["CEO", "CTO", "CFO", "COO", "VP Sales", "VP Marketing", "Sales Manager", "Account Executive",
          "Marketing Manager", "Office Manager", "Procurement Lead", "Operations Director", "Owner",
          "Founder", "IT Manager", "Head of Growth", "Product Manager", "Engineer", "Consultant",
          "Buyer", "Director", "Analyst", "HR Manager", "Purchasing Agent", "Partner", ""]
CITIES = ["New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
          "San Diego", "Dallas", "San Jose", "Austin", "Seattle", "Denver", "Boston", "Miami",
          "Atlanta", "Portland", "Toronto", "Vancouver", "Montréal", "London", "Manchester",
          "Edinburgh", "Berlin", "München", "Hamburg", "Köln", "Paris", "Lyon", "Marseille",
          "Sydney", "Melbourne", "Mumbai", "Bengaluru", "Washington, D.C.", "St. Louis", ""]
SOURCES = ["Website", "Referral", "Trade Show", "Cold Call", "LinkedIn", "Google Ads", "Partner",
           "Webinar", "Newsletter", "Facebook", "", "", ""]
TAGS = ["vip", "hot", "cold", "warm", "enterprise", "smb", "q3", "q4", "follow-up", "newsletter",
        "demo", "trial", "churn-risk", "upsell", "partner"]
NOTES = ["Interested in the annual plan", "Call back next week",
         "Met at the trade show", "Asked for a demo", "Budget approved for Q3",
         "Prefers email, not phone", "Decision maker", "Needs a quote, 50 seats",
         "Spoke to assistant, call again after 3pm", 'Said "maybe later"',
         "Referred by an existing customer", "Left a voicemail", "Wants pricing for EU, UK and US"]
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
             "proton.me", "gmx.de", "web.de", "orange.fr", "btinternet.com", "yahoo.co.uk"]

# Real area codes (US, and a few Canadian ones written the same way).
US_AREAS = [int(a) for a in """201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224
225 228 229 231 234 239 240 248 251 252 253 254 256 260 262 267 269 270 272 276 281 301 302 303 304
305 307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 330 331 334 336 337 339 347 351
352 360 361 385 386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 419 423 424 425 430 432
434 435 440 443 469 478 479 480 484 501 502 503 504 507 508 509 510 512 513 515 516 517 518 520
530 540 541 551 559 561 562 563 567 570 571 573 574 575 580 585 586 601 602 603 605 606 607 608 609
610 612 614 615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682 701 702
703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754 757 760 763 765
770 772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 828 830
831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870 872 878 901 903 904 906 907 908
909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937 940 941 949 951 952 954 956 970 971
972 973 978 979 980 985 989""".split()]
CA_AREAS = [416, 647, 905, 604, 778, 514, 438, 613, 403, 587, 780, 204, 306, 902]
# Central office codes: [2-9]XX without N11, 555 (directory and fictional numbers), 950, 958,
# 959, 976 (service codes).
EXCHANGES = [e for e in range(200, 1000)
             if e % 100 != 11 and e not in (555, 950, 958, 959, 976)]

# Other countries: (leading digits of the national number, digits after them). Only ranges
# where libphonenumber (8.12) accepts every number were kept (sampled: e.g. GB 0113 2, FR 04 0,
# FR 069, AU 0483 and US 505 are not wholly valid).
GB_GEO = """1612 1613 1614 1615 1616 1617 1618 1619 1412 1413 1414 1415 1416 1417 1418 1419 1132 1134
1138 1173 1179 1142 1162 1312 1314 1315 1316 1332 1512 1214 1234 1223 1273 1224""".split()
GB = [("20" + d, 7) for d in "378"] + [(p, 6) for p in GB_GEO] + \
     [("7" + str(x), 6) for x in range(400, 1000, 7) if str(x)[0] != "6" and x != 911]
DE = [(p + d, n - 1) for p in ("30", "89", "40", "69") for n in (7, 8) for d in "2345678"] + \
     [(p + d, 7) for p in ("221", "211", "711") for d in "2345678"] + \
     [(p, n) for p in ("160", "162", "163", "170", "171", "172", "173") for n in (7, 8)] + \
     [(p, 8) for p in ("151", "152", "157", "159", "174", "175", "176", "177", "178", "179")]
FR = [(p, 8) for p in "12359"] + [(p, 7) for p in ("60", "61", "62", "64", "65", "66", "67", "68")] + \
     [("7" + d, 7) for d in "3456789"]
AU = [(p, 6) for p in """292 293 295 296 382 385 386 390 391 395 398 730 731 732 733 734 735 737 738 892 893
894 895 896 400 401 402 403 404 405 406 407 408 409 410 411 412 413 414 415 416 417 418 419 420 421 422
423 424 425 426 427 428 429 430 431 432 433 434 435 437 438 439 447 448 449 450 451 452 455 456 457 458
459 466 467 468 469 470 473 474 475 476 477 478 479 481 482 484 487 488 490 491 497 498 499""".split()]
IN = [(p, 9) for p in "6789"]
OTHER = [(0.80, "44", GB), (0.88, "49", DE), (0.95, "33", FR), (0.98, "61", AU), (1.0, "91", IN)]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    p.add_argument("--invalid", type=float, default=0.05, help="share of invalid rows")
    p.add_argument("--duplicates", type=float, default=0.10, help="share of duplicate rows")
    return p.parse_args()


_ascii = {}


def ascii_name(name):
    """"Zoë" -> "zoe", "O'Brien" -> "obrien", "Łukasz" -> "ukasz" (for email addresses)."""
    out = _ascii.get(name)
    if out is None:
        folded = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore").decode()
        out = _ascii[name] = "".join(c for c in folded if c.isalnum())
    return out


def cell(value):
    """RFC 4180: quoted when it holds a comma, a quote or a line break."""
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


class Generator:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.used_phones = set()  # E.164 digits as int
        self.uid = 0  # makes every new email unique

    def pick(self, seq):
        return seq[int(self.r() * len(seq))]

    def digits(self, n):
        return str(int(self.r() * 10 ** n)).zfill(n)

    # A new phone number: (country, E.164 digits, national significant number parts).
    def new_phone(self):
        while True:
            x = self.r()
            if x < 0.70:  # North America, written nationally or with +1
                area = self.pick(US_AREAS) if x < 0.66 else self.pick(CA_AREAS)
                nsn = "%d%d%04d" % (area, self.pick(EXCHANGES), int(self.r() * 10000))
                country = "1"
            else:
                for bound, country, table in OTHER:
                    if x < bound:
                        break
                prefix, n = self.pick(table)
                nsn = prefix + self.digits(n)
            key = int(country + nsn)
            if key not in self.used_phones:
                self.used_phones.add(key)
                return country, nsn

    def format_phone(self, country, nsn):
        x = self.r()
        if country == "1":
            a, e, l = nsn[:3], nsn[3:6], nsn[6:]
            forms = ("(%s) %s-%s", "%s-%s-%s", "%s.%s.%s", "%s%s%s", "+1 %s %s %s", "+1 (%s) %s-%s",
                     "1-%s-%s-%s", "+1%s%s%s", "%s %s %s", "+1-%s-%s-%s")
            return forms[int(x * len(forms))] % (a, e, l)
        if country == "44":
            if nsn.startswith("20"):
                parts = (nsn[:2], nsn[2:6], nsn[6:])
            elif nsn.startswith("7"):
                parts = (nsn[:4], nsn[4:])
            else:
                parts = (nsn[:3], nsn[3:6], nsn[6:])
        elif country == "49":
            if nsn[0] == "1":
                parts = (nsn[:3], nsn[3:])
            elif nsn[:2] in ("30", "89", "40", "69"):
                parts = (nsn[:2], nsn[2:])
            else:
                parts = (nsn[:3], nsn[3:])
        elif country == "33":
            parts = (nsn[0], nsn[1:3], nsn[3:5], nsn[5:7], nsn[7:])
        elif country == "61":
            parts = (nsn[0], nsn[1:5], nsn[5:]) if nsn[0] != "4" else (nsn[:3], nsn[3:6], nsn[6:])
        else:
            parts = (nsn[:5], nsn[5:])
        if x < 0.45:
            return "+" + country + " " + " ".join(parts)
        if x < 0.65 and country in ("44", "49", "33", "61"):
            return "+" + country + " (0)" + " ".join(parts)
        if x < 0.80:
            return "+" + country + nsn
        if x < 0.90:
            return "011 " + country + " " + " ".join(parts)
        return "+" + country + "-" + "-".join(parts)

    def new_email(self, first, last, company_domain):
        self.uid += 1
        f, l = ascii_name(first) or "x", ascii_name(last) or "y"
        x = self.r()
        if x < 0.35:
            local = "%s.%s%d" % (f, l, self.uid)
        elif x < 0.55:
            local = "%s%s%d" % (f[0], l, self.uid)
        elif x < 0.70:
            local = "%s_%s%d" % (f, l, self.uid)
        elif x < 0.85:
            local = "%s%d" % (f, self.uid)
        else:
            local = "%s.%s+%d" % (f, l, self.uid)
        domain = company_domain if self.r() < 0.4 else self.pick(FREE_MAIL)
        return local + "@" + domain

    def company(self):
        a = self.pick(COMPANY_A)
        b = self.pick(COMPANY_B)
        x = self.r()
        if x < 0.05:
            name = "%s, %s %s" % (a, self.pick(LAST), b)  # a comma: quoted
        else:
            name = "%s %s" % (a, b)
        domain = a.lower() + ".com"
        return name, domain

    def tags(self):
        x = self.r()
        if x < 0.5:
            return ""
        if x < 0.8:
            return self.pick(TAGS)
        return self.pick(TAGS) + ", " + self.pick(TAGS)

    def notes(self):
        x = self.r()
        if x < 0.8:
            return ""
        if x < 0.801:
            return "Called twice.\nInterested, send the brochure"  # a line break inside a field
        return self.pick(NOTES)


def main():
    args = parse_args()
    g = Generator(args.seed)
    r = g.r
    pick = g.pick
    identities = []  # (phone country, nsn, email) of inserted rows: targets for duplicates
    counts = {"rows": 0, "inserted": 0, "duplicates": 0, "invalid": 0}
    kinds = {}
    header = "First Name,Last Name,Email,Phone Number,Company,Job Title,City,Source,Tags,Notes\r\n"
    tmp = args.out + ".tmp"
    p_invalid = args.invalid
    p_dup = args.invalid + args.duplicates
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        out.write(header)
        buf = []
        for i in range(args.rows):
            first, last = pick(FIRST), pick(LAST)
            company, domain = g.company()
            title, city, source = pick(TITLES), pick(CITIES), pick(SOURCES)
            tags, notes = g.tags(), g.notes()
            x = r()
            phone = email = ""
            ragged = False
            if x < p_invalid:
                counts["invalid"] += 1
                y = r()
                if y < 0.30:  # a bad phone and no email
                    kind = "bad phone, no email"
                    phone = pick(["12345", "000-000-0000", "555-0199", "(415) 000-0000", "+44 20 123",
                                  "n/a", "call me", "1234567890", "+1 555 123 4567", "415-555",
                                  "(000) 234-5678", "+49 0 1234", "+33 1 23", "TBD"])
                elif y < 0.55:  # no name
                    kind = "no name"
                    first = last = ""
                    country, nsn = g.new_phone()
                    phone = g.format_phone(country, nsn)
                    email = g.new_email("anon", "lead", domain) if r() < 0.5 else ""
                elif y < 0.75:  # a malformed email (with a good phone: still invalid)
                    kind = "bad email"
                    local = g.new_email(first, last, domain).split("@")[0]
                    email = pick([local + "@", local + "@gmail", local + " at gmail.com", "@" + domain,
                                  local + "@@" + domain, local + "@" + domain + ".", local + "@exa mple.com"])
                    if r() < 0.7:
                        country, nsn = g.new_phone()
                        phone = g.format_phone(country, nsn)
                elif y < 0.90:
                    kind = "no phone, no email"
                else:
                    kind = "ragged"
                    ragged = True
                    country, nsn = g.new_phone()
                    phone = g.format_phone(country, nsn)
                kinds[kind] = kinds.get(kind, 0) + 1
            elif x < p_dup and identities:
                counts["duplicates"] += 1
                country, nsn, orig_email = identities[int(r() * len(identities))]
                if nsn and (not orig_email or r() < 0.6):
                    kinds["duplicate phone"] = kinds.get("duplicate phone", 0) + 1
                    phone = g.format_phone(country, nsn)  # the same number, likely another format
                    email = g.new_email(first, last, domain) if r() < 0.5 else ""
                else:
                    kinds["duplicate email"] = kinds.get("duplicate email", 0) + 1
                    email = orig_email.upper() if r() < 0.5 else orig_email.capitalize()
                    if r() < 0.5:
                        c2, n2 = g.new_phone()
                        phone = g.format_phone(c2, n2)
            else:
                counts["inserted"] += 1
                y = r()
                country = nsn = ""
                if y < 0.90:
                    country, nsn = g.new_phone()
                    phone = g.format_phone(country, nsn)
                if y < 0.75 or y >= 0.90:
                    email = g.new_email(first, last, domain)
                identities.append((country, nsn, email))
            fields = [first, last, email, phone, company, title, city, source, tags, notes]
            if ragged:
                fields = fields[:7]
            buf.append(",".join(cell(f) for f in fields))
            if len(buf) >= 10000:
                out.write("\r\n".join(buf))
                out.write("\r\n")
                buf.clear()
        if buf:
            out.write("\r\n".join(buf))
            out.write("\r\n")
    os.replace(tmp, args.out)
    counts["rows"] = args.rows
    counts["kinds"] = kinds
    counts["bytes"] = os.path.getsize(args.out)
    counts["seed"] = args.seed
    with open(args.out + ".expected.json", "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)
    print(json.dumps(counts, sort_keys=True), file=sys.stderr)


if __name__ == "__main__":
    main()
