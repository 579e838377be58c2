"""The project's own templates of text that carries personal data (docs/synthetic.md).

A template is text with slots in braces. Slots of a person take an optional digit for a second or third person of
the same record (``{first2}``); every mention of one person agrees, and ``{email}`` is usually made from the name.

========================  ====================  ==============================================================
slot                      type                  value
========================  ====================  ==============================================================
``{name}``                person                first and last name (now and then a middle name or initial)
``{first}`` ``{last}``    person                first name, last name
``{tname}`` ``{tfull}``   person                ``Dr. Smith``, ``Ms. Jane Smith``: the title is text, not span
``{email}``               email                 the person's address, mostly from the name (``jane.doe@``)
``{phone}`` ``{mobile}``  phone                 two numbers of the person
``{dob}``                 date                  the person's date of birth, in one of many notations
``{address}``             street_address        street, postcode, city ... on one line
``{address_block}``       street_address        the same over several lines, one span per line
``{street}``              street_address        street and number only
``{city}``                location              the person's city
``{ssn}`` ``{card}``      ssn, credit_card      US SSN; card number of some network, 12-19 digits
``{iban}`` ``{profile}``  iban, url             IBAN; a URL with the person's name
``{company}``             organization          a company name
``{country}`` ``{place}`` location              a country; a city, country or state
``{date}``                date                  a date of the last years (a year alone: of the last 70)
``{url}`` ``{ip}``        url, ip               a URL; an IPv4 or IPv6 address
``{mail}``                email                 an address of no one in particular (``support@...``)
others                    none                  filler: ``{num}``, ``{amount}``, ``{time}``, ``{ticket}``,
                                                ``{order}``, ``{product}``, ``{job}``, ``{weekday}``, ``{code}``,
                                                ``{sentence}`` (English words), ``{phrase}`` and ``{headline}``
                                                (catch phrases, lower / title case), ``{bs}`` (jargon)
========================  ====================  ==============================================================

Templates are English; the values come from the record's locale. Styles: ``chat`` marks casual messages, which the
lower-casing variant lower-cases whole. No slot touches a letter or digit, nor a joiner (``'-_.@``) before one, so
every value starts and ends on a word boundary of :mod:`flair_modernbert.segmentation`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Template", "TEMPLATES", "THREAD_HEADERS"]


@dataclass(frozen=True)
class Template:
    """One template: its family (for documentation and tests), the text with slots, and its style."""

    family: str
    text: str
    style: str = "plain"


def _t(family: str, *texts: str, style: str = "plain") -> list[Template]:
    return [Template(family, text, style) for text in texts]


TEMPLATES: list[Template] = [
    # ------------------------------------------------------------------------------------------- chat messages
    *_t("chat",
        "hey {first}, can you send me your number again? mine is {phone}",
        "hi! this is {first} from {company}, call me back at {phone} when you can",
        "{first}: running late, meet you at {street} instead?",
        "lol {first2} just told me {name} moved to {city}",
        "ok so my new email is {email}, the old one is dead",
        "can u pay me back? my iban is {iban} thx",
        "my bday is {dob} btw 🎉 party at {address}",
        "{first} are you still at {company}? someone called for you from {phone}",
        "text {first} on {mobile}, they know the way to {street}",
        "just landed in {place}! will call you tomorrow {first}",
        "omg {name} is my new neighbour, lives right at {street}",
        "pls don't share this but my card is {card} if you need to book the tickets",
        "did {first2} get the invite? send it to {email2} not to my work address",
        "call {tname} tomorrow morning, number is {phone}",
        "good morning {first}! see you at {time} at {place}",
        style="chat"),
    *_t("chat",
        "Hi {first}, it's {first2}. Could you send the contract to {email2}? Thanks!",
        "Thanks {first}! I'll forward it to {name2} at {company} today.",
        "Quick question: is {phone} still the best number to reach {tname}?",
        "{name} ({email}) asked to join the group, can someone approve?",
        "Reminder: {first} and {first2} are off on {date}, {first3} covers the desk.",
        ),
    # ------------------------------------------------------------------------------------------- e-mails
    *_t("email",
        "From: {name} <{email}>\nTo: {name2} <{email2}>\nSubject: Meeting on {date}\n\nHi {first2},\n\n"
        "could we move our meeting at {company} to {weekday}? You can reach me at {phone}.\n\nBest,\n{first}",
        "Dear {tname},\n\nthank you for your application for the {job} position at {company}. We would like to "
        "invite you for an interview on {date} at {time}. Please confirm by replying to {mail}.\n\n"
        "Kind regards,\n{name2}\n{company}",
        "Hello {first},\n\nyour order {order} has been shipped to {address}. Track it at {url}.\n\n"
        "The {company} team",
        "Hi all,\n\nplease welcome {name}, who joins us as {job} from {company}. {first} sits in {place} and can be "
        "reached at {email} or {phone}.\n\nCheers,\n{first2}",
        "Dear Sir or Madam,\n\nI would like to close my account. My IBAN is {iban} and my date of birth is {dob}.\n\n"
        "Yours faithfully,\n{name}\n{address}",
        "Subject: Password reset\n\nHi {first}, we received a request to reset the password of {email} from "
        "IP address {ip}. If this was not you, contact {mail}.",
        "{first},\n\nthe invoice for {amount} is attached. Please transfer it to {iban} (account holder: {name2}) "
        "by {date}.\n\nThanks,\n{tfull}",
        "Good afternoon {tname},\n\nI am writing on behalf of {company} regarding your claim of {date}. "
        "Could you call me on {phone}?\n\nBest regards,\n{name2}\n{job}, {company}\nTel. {phone2}",
        "On {date}, {name} <{email}> wrote:\n> Can you check whether the payment from {iban} arrived?\n\n"
        "Yes, it arrived on {date2}. Regards, {first2}",
        "Hi {first2}, I'm out of office until {date}. For urgent matters please contact {name} ({email}, "
        "{phone}).",
        ),
    # ------------------------------------------------------------------------------------------- support tickets
    *_t("ticket",
        "Ticket {ticket}\nCustomer: {name}\nEmail: {email}\nPhone: {phone}\nIssue: card {card} was charged twice "
        "for {amount} on {date}.",
        "Ticket {ticket} opened by {name} ({email}): cannot log in since {date}, last login from {ip}.",
        "Customer {name} called from {phone} about order {order}. Shipping address changed to {address}. "
        "Agent: {first2}",
        "[{ticket}] {tfull} reports that the {product} delivered to {street}, {city} arrived damaged.",
        "Support chat transcript\nAgent {first2}: Hello, how can I help?\n{first}: hi, I need to update my phone "
        "number to {phone}\nAgent {first2}: Sure. Can you confirm your date of birth?\n{first}: {dob}",
        "Escalation: {name} (account {code}) disputes a payment of {amount} from IBAN {iban}. Contact: {email}.",
        "Customer states the SSN on file ({ssn}) is wrong. Verified identity of {name}, born {dob}.",
        "Refund of {amount} issued to card ending in the number {card} for {name}. Ticket {ticket} closed.",
        "New ticket from {email}: the website {url} shows my old address {address}, please fix.",
        "Priority: high\nReporter: {name} <{email}>\nAssignee: {name2}\nSummary: VPN drops for user at {ip}",
        ),
    # ------------------------------------------------------------------------------------------- forms
    *_t("form",
        "Name: {name}\nDate of birth: {dob}\nAddress: {address}\nPhone: {phone}\nEmail: {email}",
        "FIRST NAME: {first}\nLAST NAME: {last}\nDOB: {dob}\nSSN: {ssn}\nEMPLOYER: {company}",
        "Applicant: {tfull}\nCurrent address:\n{address_block}\nMobile: {mobile}\nNationality: {country}",
        "Card holder: {name}\nCard number: {card}\nBilling address: {address}\nE-mail for receipt: {email}",
        "Account holder: {name}\nIBAN: {iban}\nBank: {company}\nDate: {date}\nSignature: {name}",
        "Emergency contact\nName: {name2}\nRelationship: sister\nPhone: {phone2}\nCity: {city2}",
        "Full name | {name}\nBorn | {dob}\nPlace of birth | {place}\nSocial Security No. | {ssn}",
        "name={name}; email={email}; phone={phone}; city={city}",
        "Guest: {name} | Check-in: {date} | Check-out: {date2} | Room {num} | Tel: {phone}",
        "VOLUNTEER REGISTRATION\nName: {name}\nE-mail: {email}\nAvailable from: {date}\nHome town: {city}",
        ),
    # ------------------------------------------------------------------------------------------- letters
    *_t("letter",
        "{name}\n{address_block}\n\n{place}, {date}\n\n{tname},\n\nwe confirm the termination of your contract "
        "with {company} as of {date2}. Any remaining balance will be paid to your account {iban}.\n\n"
        "Sincerely,\n{name2}",
        "{company}\n{address_block2}\n\n{date}\n\nDear {tname},\n\nwe are pleased to offer you the role of {job}. "
        "Please return the signed copy to {mail} before {date2}.\n\nYours sincerely,\n{tfull2}",
        "To whom it may concern,\n\nI have known {name} since {date}. {first} worked with us at {company} in "
        "{place} and was always reliable. Feel free to call me at {phone2}.\n\n{tfull2}",
        "Dear neighbours,\n\nwe are {name} and {name2}, the new tenants at {street}. If anything comes up, "
        "ring us on {phone} or write to {email}.",
        "NOTICE OF RENT INCREASE\n\nTenant: {name}\nProperty: {address}\nEffective: {date}\n\n"
        "Landlord: {name2}, {phone2}",
        ),
    # ------------------------------------------------------------------------------------------- log lines
    *_t("log",
        "{date} {time} INFO auth: login ok user={email} ip={ip}",
        "{date} {time} WARN payment: card {card} declined for customer {name}",
        "{ip} - - [{date} {time}] \"GET /account/settings HTTP/1.1\" 200 {num}",
        "ERROR {time} mailer: could not deliver to {email}: mailbox full",
        "{date} {time} DEBUG crm: updated contact {name} phone={phone} city={city}",
        "{time} audit: {email} exported the records of {name2} from {ip}",
        "{date} {time} INFO sepa: transfer {amount} from {iban} to {iban2} ok",
        "[{time}] webhook {url} returned 500 for event {code}",
        ),
    # ------------------------------------------------------------------------------------------- CVs
    *_t("cv",
        "CURRICULUM VITAE\n\n{name}\n{address}\n{phone} | {email}\n{profile}\n\nEXPERIENCE\n{job}, {company}, "
        "{place} ({date} to {date2})\n{job2}, {company2}\n\nDate of birth: {dob}",
        "{name} is a {job} based in {city} with ten years at {company}. Contact: {email}, {phone}.",
        "Profile: {name}\nLocation: {place}\nWebsite: {profile}\nPrevious employers: {company}, {company2}",
        "REFERENCES\n{tfull2}, {company2}, {phone2}\n{tfull3}, {company3}, {email3}",
        ),
    # ------------------------------------------------------------------------------------------- shipping
    *_t("shipping",
        "SHIP TO:\n{name}\n{address_block}\nTEL {phone}",
        "Delivery note {order}: {num} x {product} for {name}, {address}. Leave with neighbour {name2} if absent.",
        "Your parcel for {name} is waiting at {street}. Pick it up before {date} with code {code}.",
        "Sender: {company}, {address2}\nRecipient: {tfull}, {address}\nContents: {product}",
        "Courier could not reach {first} at {phone}; rescheduled to {weekday} {date}.",
        ),
    # ------------------------------------------------------------------------------------------- HR notes
    *_t("hr",
        "HR note: {name} (employee {code}) moves to the {place} office on {date}. Payroll IBAN updated to {iban}.",
        "Onboarding {name}: start date {date}, manager {name2}, laptop shipped to {address}.",
        "Confidential: {tfull} reported an incident with {name2} on {date}. Follow-up by {first3}.",
        "Payroll change for {name}, SSN {ssn}: new bank account {iban} from {date}.",
        "Exit interview with {name} held on {date}; forwarding address {address}, private e-mail {email}.",
        ),
    # ------------------------------------------------------------------------------------------- medical
    *_t("medical",
        "Appointment confirmed: {name}, born {dob}, with {tname2} on {date} at {time}. Clinic: {company}, {address2}.",
        "Patient {name} (DOB {dob}) called from {phone} to reschedule. New slot: {weekday} {date}.",
        "Referral from {tfull2} for {name}, {address}. Insurance holder: {name3}.",
        "Lab results for {last}, {first} (born {dob}) sent to {email}.",
        "PATIENT: {name}\nDOB: {dob}\nSSN: {ssn}\nPHYSICIAN: {tfull2}\nNEXT VISIT: {date}",
        ),
    # ------------------------------------------------------------------------------------------- banking, travel
    *_t("finance",
        "Transfer of {amount} from {name} ({iban}) to {name2} ({iban2}), reference {code}, executed {date}.",
        "Dear {first}, a payment of {amount} with the card {card} was made at {company} in {place} on {date}.",
        "Direct debit mandate: I, {name}, authorise {company} to debit my account {iban}. {place}, {date}.",
        "Your statement for card {card}: {num} transactions, balance {amount}. Questions? {phone2}",
        ),
    *_t("travel",
        "Booking {code}: {name} and {name2}, {place} to {place2}, departing {date}. Contact {email}.",
        "Passenger {last}, {first}, born {dob}, seat {num}A. Emergency phone {phone}.",
        "Hotel {company} in {place} confirms your stay from {date} to {date2}, {tname}.",
        "Your rental car for {name} is ready at {address}. Driver licence holder born {dob}.",
        ),
    # ------------------------------------------------------------------------------------------- plain sentences
    *_t("prose",
        "{name} was born on {dob} in {place} and has worked for {company} since {date}.",
        "Yesterday {tfull} from {company} visited our office in {city}.",
        "According to {name}, the {company} branch in {place} will close on {date}.",
        "{first} {last} said the package arrived at {street} last {weekday}.",
        "The meeting between {name} and {name2} took place in {place}.",
        "Please contact {name} at {email} or {phone} for details.",
        "{company} and {company2} signed the agreement in {place} on {date}.",
        "I met {first} at the conference in {place}; {first} works at {company} now.",
        "My name is {name}, I live at {address} and my phone number is {phone}.",
        "The server at {ip} was moved from {place} to the {company} data centre.",
        "You can find the slides at {url} or ask {first} for a copy.",
        "{name} of {company} will present the results on {date}.",
        ),
    # ------------------------------------------------------------------------------------------- no personal data
    *_t("none",
        "The meeting is moved to next week, same room as usual.",
        "Please restart the router and wait two minutes before trying again.",
        "Thanks for your feedback! We have passed it on to the product team.",
        "Order status: processing. Estimated delivery within {num} days.",
        "REMINDER: the office is closed on public holidays.",
        "The quarterly report shows a {num} percent increase in sales of the {product}.",
        "Error {num}: the request timed out after {num2} seconds.",
        "can you check if the build passed? it failed twice this morning",
        "Our opening hours are Monday to Friday, 9 to 5.",
        "The {product} costs {amount} including shipping.",
        ),
    # ----------------------------------------- no personal data: common nouns, headlines and jargon are not names
    *_t("none",
        "{sentence}",
        "{sentence} {sentence2}",
        "{headline}: {sentence}",
        "Top {num} {headline} You Should Know About",
        "Check out \"{headline}\", the album everyone is talking about. {sentence}",
        "Film review: {headline} ({num}/10). {sentence}",
        "We are hiring a {job} to {bs}. {sentence}",
        "Job description: the {job} will {bs} and report to the {job2}.",
        "Our new {product} range: {phrase}. {sentence}",
        "The {phrase} helps teams {bs}.",
        "For my take on {headline}, see {headline2} ({num} Songs Of The {num2}0s).",
        "ok so {sentence}",
        ),
    # ----------------------------------------- personal data inside such text
    *_t("prose",
        "{sentence} Contact {name} at {email} for details.",
        "{headline} by {name}. {sentence}",
        "{name} ({job}) wrote: {sentence}",
        "{company} announced a {phrase} today. {sentence}",
        "As {job} at {company}, {first} will {bs}.",
        ),
]

#: Headers between the parts of a long document (a ticket thread, a mailbox export), with slots like templates.
THREAD_HEADERS: list[Template] = [
    *_t("thread",
        "--- Message {num} ---",
        "On {date}, {name} wrote:",
        "-----Original Message-----\nFrom: {name} <{email}>\nSent: {date}",
        "=== {ticket} ===",
        "Reply from {tname}:",
        "Forwarded by {first}",
        "Page {num}",
        ),
]
