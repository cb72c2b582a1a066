"""Generate the bundled sample data for Classifier Studio.

Writes two files next to this script:

* ``support_tickets.csv`` (columns ``text,label``): about 400 short, synthetic
  customer-support tickets in five classes (``billing``, ``technical_issue``,
  ``account_access``, ``shipping``, ``feature_request``).
* ``support_tickets_unlabeled.csv`` (columns ``id,text``): 40 further tickets,
  written separately, for trying out classification.

Every fragment below was written for this project; the output is dedicated to
the public domain (CC0 1.0), see README.md.

How a ticket is built: each class has a list of hand-written "core" sentences.
A core may contain ``[a|b|c]`` alternations (one is picked) and ``{slot}``
placeholders (filled from the SLOTS pools). A ticket is an optional opener,
one core, an optional class-specific detail sentence and an optional closing.
Every core is used once; a few are used a second time, but only when that
ticket shares at most half its words with the first one, so near-duplicates
are rare; exact duplicates are rejected. A few tickets get realistic typos or a lower-case, hurried style.
Some cores deliberately sit near a class boundary (a refund for a lost parcel,
a login loop caused by a bug) so that a fine-tuned model does well but not
trivially perfectly.

The script is seeded and deterministic: ``python3 make_samples.py``.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

SEED = 20240611
HERE = Path(__file__).resolve().parent
TARGET = {
    "billing": 82,
    "technical_issue": 84,
    "account_access": 78,
    "shipping": 80,
    "feature_request": 76,
}
MIN_WORDS, MAX_WORDS = 8, 40

SLOTS = {
    "amount": ["$12.99", "$49", "$9.99", "$120.00", "$34.50", "€29.00", "€15", "£8.50", "£64.99",
               "$199", "$5.99", "$72.40", "€110", "$18"],
    "plan": ["Pro plan", "Basic plan", "Team plan", "Family plan", "annual subscription",
             "monthly plan", "Premium tier", "Starter plan", "Business plan"],
    "month": ["January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December"],
    "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the weekend", "yesterday"],
    "days": ["3", "4", "5", "6", "8", "9", "10", "12", "two", "three", "five", "ten"],
    "mins": ["2", "5", "10", "15", "20", "30"],
    "product": ["the desktop app", "the iOS app", "the Android app", "the web dashboard",
                "the browser extension", "the Mac app", "the Windows client", "your app"],
    "device": ["iPhone 13", "Pixel 7", "Windows 11 laptop", "MacBook Air", "Galaxy S22",
               "Chromebook", "iPad", "Surface Pro", "old Android phone", "ThinkPad"],
    "browser": ["Chrome", "Firefox", "Safari", "Edge", "Brave"],
    "version": ["4.2", "4.2.1", "3.9", "5.0", "5.0.3", "2.18"],
    "error": ['"Error 500"', '"Something went wrong"', "ERR_CONNECTION_RESET", "code 0x80070005",
              '"Unexpected token"', '"Request timed out"', "error 403", '"Invalid file format"'],
    "item": ["blender", "pair of running shoes", "desk lamp", "phone case", "coffee grinder",
             "backpack", "monitor stand", "yoga mat", "set of wireless earbuds", "kettle",
             "winter jacket", "office chair", "bookshelf", "espresso machine", "puzzle set",
             "set of frying pans", "baby monitor", "gaming mouse", "rug", "water bottle"],
    "carrier": ["UPS", "FedEx", "DHL", "USPS", "Royal Mail", "the courier", "DPD", "Canada Post"],
    "country": ["Canada", "Ireland", "Australia", "Mexico", "Norway", "Japan", "Poland",
                "New Zealand", "Portugal", "South Africa"],
    "order": ["#48213", "#100394", "#77120", "#5520981", "#30417", "#918273", "#66004",
              "#240517", "#81932", "#412866"],
    "num": ["88213", "40917", "55102", "71346", "19884", "60021", "23458"],
    "four": ["4412", "0937", "1180", "7265", "5501"],
    "user": ["jmartinez", "katie.b", "dev_ops_lee", "sam1987", "the_green_cafe", "mthompson",
             "ana.sousa", "r.okafor"],
    "years": ["two", "three", "five", "six", "eight"],
    "name": ["Maria", "Tom", "Priya", "Dave", "Chen", "Olu", "Sophie", "Marcus", "Léa", "Hannah"],
    "integration": ["Microsoft Teams", "Google Sheets", "Zapier", "Notion", "Salesforce",
                    "Outlook", "Trello"],
    "gadget": ["smart scale", "Bluetooth speaker", "fitness tracker", "label printer",
               "barcode scanner"],
}

OPENERS = (
    ["Hi,", "Hello,", "Hey,", "Hi there,", "Good morning,", "Hello support,", "Dear team,",
     "Hi team,", "Good afternoon,", "Hey folks,", "Hi, hope you're well.", "Sorry to bother you,",
     "Hello again,", "Quick question.", "Hi, it's {name} here."]
)

CLOSINGS = [
    "Thanks.", "Thanks in advance!", "Please help.", "Appreciate it.",
    "Let me know what you need from me.", "Can someone get back to me today?", "Cheers.",
    "Thank you so much!", "This is really frustrating.", "Regards, {name}",
    "Any update would be appreciated.", "Please advise.", "Looking forward to your reply.",
    "Not happy about this at all.", "thx", "Thanks, {name}", "Many thanks.",
    "I'd appreciate a quick answer.", "Best, {name}", "Hope you can sort this out.",
]

# Short class-typical prefixes, used rarely so the class is not given away.
PREFIXES = {
    "billing": ["Billing question:", "Re: my invoice -"],
    "technical_issue": ["Bug report:", "Possible bug:"],
    "account_access": ["Login problem:", "Urgent, locked out:"],
    "shipping": ["Order issue:", "Delivery question:"],
    "feature_request": ["Feature idea:", "Suggestion:"],
}

CORES = {
    "billing": [
        "I was charged {amount} twice for my {plan} this month.",
        "My card got billed {amount} even though I cancelled my subscription back in {month}.",
        "Can I get a refund for the {plan}? I upgraded by mistake and [haven't used|never touched] any of the new features.",
        "The invoice for {month} shows {amount}, but my plan is supposed to cost less than that.",
        "Why did my price go up? Nobody told me the {plan} was getting more expensive.",
        "I need a VAT invoice with our company name and tax number on it for the [last|most recent] payment.",
        "The promo code [SPRING20|WELCOME10|SAVE15] didn't apply at checkout and I ended up paying full price.",
        "My payment keeps getting declined [although|even though] the same card works everywhere else.",
        "How do I switch from monthly to yearly billing without losing the days I already paid for?",
        "There's a charge of {amount} on my [bank statement|credit card statement] from you that I don't recognize.",
        "I was promised a prorated credit when I downgraded, but the next invoice was full price again.",
        "Please update the billing address on our invoices, we moved offices in {month}.",
        "The free trial was supposed to last 14 days but you charged me after only {days} days.",
        "I'd like to change the card on file, the old one [expires this week|was cancelled by my bank].",
        "You refunded me {amount}, but the original charge was higher. Where is the rest of the money?",
        "Is there a discount for [nonprofits|students|teachers] on the {plan}?",
        "I got charged in euros instead of dollars and my bank added a conversion fee on top.",
        "My refund was approved {days} days ago and it still hasn't shown up on my card.",
        "We have 5 seats on the Team plan but you are billing us for [8|7|10].",
        "Could you send me receipts for every payment [made this year|since {month}]? My accountant needs them.",
        "PayPal shows a pending charge of {amount} that never went through on your side.",
        "I cancelled, got the confirmation email, and was still billed again on the renewal date.",
        "The sales tax on my last invoice looks wrong for my state, can someone double check it?",
        "Why is there a late fee on my account? Autopay has been switched on the whole time.",
        "Can I pay by bank transfer instead of credit card? Our company doesn't do cards.",
        "My subscription renewed automatically and I don't want it anymore, please refund the {amount}.",
        "The pricing page says {amount} a month, but my receipt shows a different number.",
        "I was charged for an add-on [I never selected|called \"Priority Support\" that I never asked for].",
        "Do you offer invoicing with net 30 payment terms for larger teams?",
        "The checkout took my money but the order page says \"payment failed\". Was I charged or not?",
        "My gift card balance wasn't applied, so I paid the whole {amount} by card.",
        "Could you split the charge across two cards? One of them is a company card.",
        "I'm still being billed for an old account I closed in {month}.",
        "The credit from my referral never showed up on my bill.",
        "Please turn off auto-renewal on my {plan} before it charges me again.",
        "The amount on the invoice PDF does not match what was taken from my bank account.",
        "I paid for the annual plan, but the billing page still says I'm on monthly billing.",
        "You charged me {amount} for shipping on an order that was supposed to ship free.",
        "How do I get a copy of the credit note for the refund you issued [last week|in {month}]?",
        "I keep getting emails saying my payment failed, but the money has left my account.",
        "We were charged full price even though our contract says we get a 15% discount.",
        "Is there a cancellation fee if I end my {plan} halfway through the year?",
        "Three small charges of {amount} appeared on my card yesterday. Are these verification holds?",
        "The price in the app store is different from the one on your website. Which one applies to me?",
        "Please send future invoices to our finance team instead of to me personally.",
        "I upgraded for one day to test something and got billed for the whole month, is that right?",
        "My accountant spotted that we paid the same invoice twice in {month}, can we get one of them back?",
        "The renewal reminder said {amount} but you actually took more than that.",
        "Why does my receipt show a \"service fee\" line? That wasn't there before.",
        "I switched to the cheaper plan last week but was charged the old price anyway.",
        "Does the {plan} renew automatically, or do I need to pay manually each year?",
        "Our purchase order number has to appear on every invoice, otherwise accounts payable rejects it.",
        "Can you refund just the unused months? We're closing the business.",
        "The Apple subscription and the website subscription are both active, so I'm paying twice.",
        "I never received an invoice for {month}, so our books don't balance.",
        "The currency on my account is set to dollars but I live in the UK, can that be changed to pounds?",
        "I disputed a charge with my bank by accident, how do I undo that and pay you properly?",
        "My student discount stopped after the first year, is that expected?",
        "Your payment page won't accept American Express, which is the only card our company issues.",
        "Is the price shown including tax or is tax added on top?",
        "I got a refund notification but the amount is {amount}, which is way less than I paid.",
        "Could you explain the line \"usage overage\" on this month's bill?",
        "After the merger we have two separate subscriptions, can they be combined into one bill?",
        "I prepaid for two years and now the account is asking for payment again.",
        "We're tax exempt. Where can I upload the certificate so you stop charging VAT?",
        "I was billed {amount} for a plan my colleague signed up for using my card without asking.",
    ],
    "technical_issue": [
        "{product} crashes every time I try to export a report.",
        "The page just spins forever after I click save, nothing [happens|gets saved].",
        "I get {error} when uploading files bigger than about 20 MB.",
        "Sync between my phone and my laptop stopped working after the last update.",
        "Notifications aren't coming through on my {device} anymore, [even though|although] they're enabled.",
        "The app freezes on the splash screen and I have to force close it.",
        "Search returns no results, even for [items|records|notes] I know exist.",
        "Images in the dashboard are broken, only little placeholder icons show up.",
        "Since updating to version {version} the app uses 100% CPU and my fan never stops.",
        "Video calls drop after about {mins} minutes with a \"connection lost\" message.",
        "Charts are not loading in {browser}, but they work fine in another browser.",
        "When I paste text from Word the formatting goes completely [wrong|haywire].",
        "The CSV import fails with {error}, even though the file opens fine in Excel.",
        "In dark mode some buttons are invisible, it's white text on a white background.",
        "The app won't install on my {device}, it says the package is invalid.",
        "Every time I open the settings screen the app closes itself.",
        "Your API returns a 502 for about half of our requests since this morning.",
        "Data I entered yesterday has disappeared from the table. Where did it go?",
        "Printing to PDF gives me [blank pages|a completely empty document].",
        "The calendar shows all my events one hour off since the clock change.",
        "Pairing my {gadget} with the app fails at the very last step.",
        "Keyboard shortcuts stopped working in the editor, Ctrl+S does nothing.",
        "The webhook isn't firing when a new order comes in, so our warehouse never gets notified.",
        "{product} is extremely slow, every click takes several seconds to respond.",
        "Attachments show as 0 bytes when I download them.",
        "The firmware update gets stuck at 99% and never finishes.",
        "Autosave isn't working, I lost an hour of work when the tab refreshed.",
        "I just get a white screen after the update on my {device}.",
        "The mobile app shows a different total than the web version for the same report.",
        "Copy and paste doesn't work inside the comment box.",
        "Audio cuts out every few seconds in recordings made with {product}.",
        "The desktop client says \"unable to reach server\" but my internet works fine.",
        "Scrolling in long lists is jumpy and sometimes jumps right back to the top.",
        "Filters reset every time I switch tabs, which makes the report view unusable.",
        "The Slack integration disconnected itself and won't reconnect, it just shows {error}.",
        "After the update all my saved templates are gone.",
        "The barcode scanner in the app won't focus, the camera image just stays blurry.",
        "My home screen widget hasn't refreshed in days.",
        "Exported spreadsheets show garbled characters instead of accents, so café becomes cafÃ©.",
        "The app logs me out every time I switch from wifi to mobile data.",
        "{product} crashes on launch [since yesterday's update|after the latest update].",
        "Dragging files into the upload area does nothing in {browser}.",
        "Reports take over {mins} minutes to generate now, they used to be instant.",
        "The map view is completely grey and the tiles never load.",
        "The checkout button doesn't respond on mobile, I tapped it ten times and nothing.",
        "When two people edit the same document one person's changes get overwritten.",
        "The app shows {error} whenever I try to open a shared project.",
        "Our team can't upload anything today, the button is greyed out for everyone.",
        "Half the text in the editor disappears when I zoom in on {device}.",
        "The date picker shows the wrong year and won't let me pick anything after December.",
        "Since the last update {product} won't remember my window size or position.",
        "Spell check underlines every single word, even correct ones, in English.",
        "Uploading a profile photo gives {error} no matter which picture I try.",
        "My tablet version keeps crashing when I rotate the screen while a document is open.",
        "Links in the weekly email lead to a 404 page.",
        "The sound notifications play twice for every new message.",
        "The numbers in the summary don't add up to the totals in the detailed report.",
        "The installer on my {device} stops halfway with {error}.",
        "Tables with more than about 1,000 rows just don't render.",
        "When I rename a folder all the files inside it vanish from the list.",
        "The login works, but then every page inside the app loads blank.",
        "My offline changes were never synced and now they're gone.",
        "Screen sharing shows a black screen to everyone else in the meeting.",
        "The app drains my battery really fast, about 20% an hour in the background.",
        "Time zones are messed up, scheduled posts go out at 3am instead of 3pm.",
        "Hitting the back button in {browser} throws me out of the form and everything I typed is lost.",
    ],
    "account_access": [
        "I can't log in, it says my password is incorrect even [after I reset it|right after resetting it].",
        "The password reset email never arrives, and I already checked my spam folder.",
        "My account got locked after too many login attempts. How long do I have to wait?",
        "I lost my phone and can't get the two-factor codes anymore.",
        "I changed my email address and now I can't sign in with either the old or the new one.",
        "Someone logged into my account from another country, please help me secure it.",
        "The verification code by SMS never [comes through|arrives].",
        "I signed up with Google, but now the Google button says no account was found.",
        "My account says \"suspended\" and I have no idea why.",
        "How do I remove a former employee's access to our workspace?",
        "The login link you email me says it has expired even when I click it right away.",
        "I'm stuck in a loop: I sign in and it sends me straight back to the login page.",
        "I forgot which email address I used to create my account.",
        "I need to transfer ownership of our account to a colleague before I leave the company.",
        "The invite link my manager sent me says it's invalid.",
        "Please close my account and delete all my personal data.",
        "My username was changed without me doing anything.",
        "I'm getting \"account not found\" but I've been using it for years.",
        "The security questions don't accept my answers anymore, and I'm sure they're right.",
        "I set up an authenticator app on my old phone and need to move it to my new one.",
        "My account got merged with my partner's by mistake, we need separate logins again.",
        "I got an email saying my password was changed, but I didn't change it.",
        "Single sign-on through our company portal stopped letting me in [this week|on {weekday}].",
        "I can log in on the website, but the mobile app rejects the same password.",
        "The backup codes I saved when setting up 2FA aren't working.",
        "My account was deactivated because I didn't log in for a while. Can you reactivate it?",
        "How do I add a second admin to our organization account?",
        "The captcha on the login page keeps failing no matter what I click.",
        "I want to change my account email, but the confirmation goes to the old address and I can't access that inbox.",
        "My profile still shows my old name and I can't edit it.",
        "It says my session expired every few minutes and kicks me out.",
        "My kid signed up with my email address, so now I can't register my own account.",
        "I get \"too many requests\" whenever I try to reset my password.",
        "Please unlock my account, I've been locked out since {weekday}.",
        "Is there a way to sign out of all other devices? My old laptop might still be logged in.",
        "I can't open the shared team folder anymore, it says I don't have permission.",
        "My login email has a typo in it from when I registered, how do I fix it?",
        "\"Sign in with Apple\" creates a new empty account instead of opening my existing one.",
        "I no longer have the phone number that's tied to my account.",
        "After changing my password I'm locked out of {product}.",
        "How do I turn off two-factor authentication? I keep losing access to my codes.",
        "I was removed from my team's workspace by accident, can you restore my access?",
        "The account I'm trying to log into belongs to my late father, how can the family get access?",
        "My password manager filled in the right password but the site still says wrong credentials.",
        "I can't get past the \"verify your email\" screen, the link in the email does nothing.",
        "How can I get back into my account if I no longer have access to my old work email?",
        "Two-factor keeps sending codes to a number I gave up years ago.",
        "My colleague left and she was the only admin, now nobody can manage our account.",
        "I tried to log in from a hotel abroad and got blocked for \"suspicious activity\".",
        "Your app keeps saying my password doesn't meet the requirements, but it's the one I've always used.",
        "I have two accounts by mistake. Can you merge them so I only need one login?",
        "My login stopped working after our company switched to a new identity provider.",
        "The \"forgot password\" link on the app just reloads the same page.",
        "Please change the owner of this account to {user}, I'm handing it over.",
        "I accidentally deleted my account, is there any way to restore it?",
        "After reinstalling the app it doesn't recognize my fingerprint login anymore.",
        "I want to stop other people in my household from using my login.",
        "The account recovery form asks for my first order number and I don't have it.",
        "Every time I log in, it asks me to verify my device again.",
        "I'm the account owner but my admin rights disappeared after the last change.",
        "How do I reset the PIN for the kids' profile? I've forgotten it.",
        "The system says my email is already in use, but I've never signed up before.",
        "My access was revoked by our admin by mistake, how do I request it back?",
        "I got a login alert from a device I don't own. What should I do?",
    ],
    "shipping": [
        "My order {order} still hasn't arrived and it's been {days} days.",
        "The tracking number doesn't work on the {carrier} website.",
        "The package is marked as delivered, but it's not at my door or with any of my neighbors.",
        "My {item} arrived in a crushed box and the [item|thing] inside is damaged.",
        "I got the wrong item, I ordered a {item} and received something completely different.",
        "Can I change the delivery address? I just noticed I entered my old one.",
        "Do you ship to {country}, and if so how much does it cost?",
        "How long does express shipping to {country} usually take?",
        "Tracking hasn't updated since the parcel left the warehouse {days} days ago.",
        "Part of my order is missing, only one of the two boxes showed up.",
        "The courier left a \"sorry we missed you\" card, but I was home the whole day.",
        "My package is stuck in customs. What paperwork do they need from me?",
        "Can I pick up my order from a store instead of having it delivered?",
        "The estimated delivery date keeps moving later every day.",
        "My {item} was delivered to the wrong house down the street.",
        "I need this by Friday for a birthday, can you upgrade the shipping?",
        "The box was left out in the rain and everything inside is soaked.",
        "How do I return the {item}? There was no return label in the box.",
        "My order shows as shipped, but {carrier} says they never received the parcel.",
        "Could you hold my package at the depot? I'm away for a week.",
        "I had to pay an import fee when the parcel arrived, nobody mentioned that at checkout.",
        "The confirmation said it ships in 2 days, but it's been a week and it still hasn't left.",
        "Can you combine my two orders into one shipment?",
        "The {item} came without the power cable, it's not in the box.",
        "The delivery driver threw the box over our gate and it broke.",
        "I'd like to cancel order {order} before it ships, is that still possible?",
        "Where is my order? I can't find any tracking information in my emails.",
        "My parcel was sent back to your warehouse and I don't know why.",
        "Can you deliver to a PO box?",
        "The return I sent back {days} days ago still shows as in transit.",
        "The box arrived open and the {item} was missing.",
        "I ordered two different sizes and both came in the same wrong size.",
        "Your site says free delivery over $50, but at checkout it says my area isn't eligible.",
        "Will the {carrier} driver need a signature? Nobody is home during the day.",
        "My order was split into three packages and one of them seems to be lost.",
        "The apartment number was left off the label, so the parcel keeps coming back.",
        "Tracking just says \"exception\" and nobody can tell me what that means.",
        "Is it possible to schedule the delivery for a Saturday?",
        "The {item} went to my old office even though I updated my address.",
        "Order {order} has said \"label created\" for a week now.",
        "The replacement for my broken {item} that you promised never shipped.",
        "My {item} arrived {days} days late and I needed it for an event.",
        "Refund me or resend it, the parcel with my {item} has been lost by {carrier}.",
        "I'm still waiting on the {item} I ordered {days} weeks ago, no updates at all.",
        "The tracking page says the package is in {country}, but I live in the US.",
        "How much does it cost to ship a {item} to {country}?",
        "Can someone call me before delivery? The doorbell doesn't work.",
        "The parcel was left with a neighbor I don't know, and they say they never got it.",
        "My {item} arrived with a big dent, I don't want to keep it.",
        "When will the {item} be back in stock and shipped? My order has been pending since {month}.",
        "I was charged for express, but the parcel came by regular post and took two weeks.",
        "{carrier} says the delivery was attempted, but there's no note and I was waiting at home.",
        "Can I add something to my order before it ships?",
        "The label on the box has my name spelled wrong, will that cause problems with pickup?",
        "My order arrived but the instructions are missing, it's just the parts.",
        "Can I get a prepaid return label emailed to me? I don't have a printer.",
        "The package was delivered to the mailroom, but they can't find it.",
        "I got two of the same {item}, I only ordered one. How do I send the extra back?",
        "My parcel has been in a locker for days and the pickup code never arrived.",
        "Do you deliver to military addresses?",
        "Shipping estimate at checkout said 3 days, now the tracking says 14.",
        "Order {order} was delivered, but the box was empty except for the packing paper.",
        "Which courier do you use for {country}? I want to know if I need to be home.",
    ],
    "feature_request": [
        "It would be great if {product} had a dark mode.",
        "Could you add an option to export reports to Excel, not just PDF?",
        "Please let us schedule messages to be sent later.",
        "I'd love a way to tag items with more than one category.",
        "Any plans for a Linux version of the desktop app?",
        "Can you add keyboard shortcuts for the most common actions?",
        "It would help a lot to have a bulk edit option for contacts.",
        "Please add support for hardware security keys as a second login factor.",
        "We need an integration with {integration}, similar to the one you have for Slack.",
        "Let users reorder the columns in the table view, please.",
        "I wish there was an undo button after deleting something.",
        "Could the mobile app work offline and sync when I'm back online?",
        "A calendar view for deadlines would make planning so much easier.",
        "Please support more languages, especially [Portuguese and Polish|Turkish and Vietnamese|Korean].",
        "It would be nice to be able to pin important notes to the top.",
        "Could you add recurring tasks that repeat every week or every month?",
        "It would be awesome to have a home screen widget for {product}.",
        "Can we get an API endpoint for pulling invoices automatically?",
        "Add a way to share a read-only link with people outside our team.",
        "Please allow custom fields on customer profiles.",
        "Saved templates for common replies would save us a ton of time.",
        "I'd like to set different notification settings for each project.",
        "Could you add a filter for a custom date range in search?",
        "It'd be great to choose the first day of the week, we start on Monday here.",
        "Please make the font size adjustable, it's hard to read on a big monitor.",
        "Can you add Apple Watch support so I can check things from my wrist?",
        "We'd like an audit log that shows who changed what, and when.",
        "A Gantt chart view would be a killer feature for our team.",
        "Let us add files by emailing them to a special upload address.",
        "It would be great if small teams could also pay by invoice, not only enterprise customers.",
        "Please add an option to hide completed items from the list.",
        "Could the dashboard send a weekly summary by email?",
        "I'd love to see a gift wrapping option at checkout.",
        "Please let me track my orders inside the app instead of on the courier's site.",
        "Could you offer a compact view with less whitespace?",
        "Any chance of adding Markdown support in the notes editor?",
        "It would be useful if duplicate contacts were merged automatically.",
        "Let us color-code labels so they stand out in the list.",
        "Can you add a print-friendly version of the reports page?",
        "We need role-based permissions, not just \"admin\" and \"member\".",
        "Please bring back the old list layout as an option, the new one is harder to scan.",
        "Voice input for adding notes on the go would be really handy.",
        "Can you let us set a default currency for each client?",
        "Would you consider a public roadmap so we can vote on ideas?",
        "Could you add a way to archive projects instead of deleting them?",
        "It would be great to import contacts directly from a vCard file.",
        "Please let us set working hours so notifications don't buzz at night.",
        "A simple way to compare two versions of a document side by side would be really useful.",
        "Can you add a \"snooze\" button for reminders?",
        "It would be nice to have a guest mode for clients who only need to comment.",
        "Can the search also look inside attached PDFs?",
        "I'd really like a tablet layout that uses the whole screen.",
        "Please add an option to sort by last modified date.",
        "Could the app automatically back up to my own cloud storage?",
        "It'd be helpful if we could set spending limits per team member.",
        "How about a browser extension for clipping web pages straight into a project?",
        "I'd like to be able to mention people with @ in comments.",
        "Please offer a desktop notification when a long export finishes.",
        "Could you add QR codes to the printed labels?",
        "Suggestion: show a progress percentage on each project card.",
        "Would love to see two-way sync with {integration}.",
        "Can you add an option to lock a record so no one edits it by accident?",
        "It would be great if charts could be embedded in our intranet pages.",
        "We'd love a sandbox account to test things without touching real data.",
    ],
}

DETAILS = {
    "billing": [
        "The transaction ID is TX-{num}.", "My bank says the charge is final, not pending.",
        "This is the second month in a row.", "I have screenshots if you need them.",
        "I've been a customer for {years} years and never had this problem.",
        "Our finance team needs this sorted before the end of the quarter.",
        "The card ends in {four}.", "I already checked the billing page in my settings.",
        "Money is tight right now, so I really need this back.", "It showed up on my {month} statement.",
        "The invoice number is INV-{num}.", "I can forward the email receipt if you need it.",
    ],
    "technical_issue": [
        "I'm on a {device} with all updates installed.", "I already tried reinstalling and clearing the cache.",
        "Restarting doesn't help.", "It started right after version {version}.",
        "It happens in {browser} as well as the desktop app.", "My colleagues see the same thing.",
        "I can send logs or a screen recording if that helps.", "This is blocking our whole team today.",
        "It worked fine last week.", "The error mentions something about a timeout.",
        "I'm using {browser} on a {device}.", "Happens about every second time, not always.",
    ],
    "account_access": [
        "My username is {user}.", "I've tried three different browsers.",
        "I need access urgently, all my work is in there.",
        "I can verify my identity with my last invoice number.",
        "The account is registered under my work email.", "I've already reset my password twice today.",
        "I'm happy to answer any security questions.", "It was working fine until {weekday}.",
        "I'm the only admin on the account.", "I'm on a {device}, if that matters.",
    ],
    "shipping": [
        "Tracking shows it went to a completely different city.", "I ordered it in early {month}.",
        "I'm home most days, so I don't understand how it was missed.", "I have photos of the box.",
        "It was supposed to be a gift.", "The order number is {order}.", "I paid extra for express delivery.",
        "{carrier} told me to contact you.", "It's the second time this has happened with your store.",
        "I live in a building with a front desk, so someone is always there to sign.",
    ],
    "feature_request": [
        "We'd happily pay a bit more for this.", "Right now we do it manually with spreadsheets.",
        "Several people on my team have asked for this.", "Your competitor already has something like it.",
        "Just a suggestion, otherwise I love the product.", "It would save me about an hour a week.",
        "Is this on the roadmap at all?", "Even a basic version would be a big help.",
        "We have about 40 users who would use it daily.", "I use {product} every day, so this would matter a lot.",
    ],
}

# Forty further tickets, written separately from the fragments above.
# The intended label is kept here for reference; only id,text are written.
UNLABELED = [
    ("billing", "Hi, my bank statement shows two payments of $24.99 on the same day. I only have one subscription. Can you look into it?"),
    ("billing", "How much would it cost to add three more users to our plan? We'd like to be billed once a year."),
    ("billing", "I was told the refund would take 5 days, it's been almost three weeks now."),
    ("billing", "Your invoice lists our old company name, \"Brightside Ltd\". Can you reissue it with the new one?"),
    ("billing", "why was i charged after the trial ended, i never entered my card details on purpose"),
    ("billing", "Can I pause my membership for two months instead of cancelling? I don't want to pay while I'm traveling."),
    ("billing", "The discount from the Black Friday offer disappeared on my second invoice."),
    ("billing", "Please confirm that my cancellation went through and I won't be charged again next month."),
    ("technical_issue", "When I rotate my tablet the whole layout breaks and half the buttons go off screen."),
    ("technical_issue", "The app keeps asking me to update, I update, and then it asks again. Endless loop."),
    ("technical_issue", "Uploaded photos come out rotated sideways in the gallery."),
    ("technical_issue", "Hello, the timer feature stops counting when my phone screen locks. It used to keep running in the background."),
    ("technical_issue", "Getting a \"database is locked\" error whenever two of us save at the same time."),
    ("technical_issue", "Emojis in product names show up as question marks on the invoice printouts."),
    ("technical_issue", "The sidebar won't collapse anymore and it covers part of the spreadsheet on my small laptop screen."),
    ("technical_issue", "Since this morning, the dashboard loads but every widget says \"No data\"."),
    ("account_access", "I can't remember my password and the reset page says my email isn't registered, but I get your newsletters at that address."),
    ("account_access", "Our IT department changed my email domain. How do I keep my account and all my history?"),
    ("account_access", "The face unlock option stopped working and now the app wants a PIN I never set."),
    ("account_access", "Hi, I think my account was hacked. The recovery email has been changed to one I don't know."),
    ("account_access", "I was invited as a viewer but I need editor access to update the shared project."),
    ("account_access", "Every time I enter the six digit code it says invalid, even though I copy it straight from the text message."),
    ("account_access", "Can I have two logins, one for work and one personal, on the same phone?"),
    ("account_access", "Locked out again. Third time this month. Please just let me back in."),
    ("shipping", "My parcel has been sitting at the local sorting center since last Tuesday. Can you chase it up?"),
    ("shipping", "The bookshelf arrived, but two of the shelves are missing and the screws bag was empty."),
    ("shipping", "Is there any way to send my order in plain packaging? It's a surprise for my wife."),
    ("shipping", "I moved house yesterday and my order is on its way to the old address. Help!"),
    ("shipping", "Do you offer same-day delivery in Chicago?"),
    ("shipping", "The courier says the address doesn't exist, but I've lived here ten years."),
    ("shipping", "I returned the jacket a month ago. Has it reached you yet?"),
    ("shipping", "Got a box today with someone else's name on it, but my address. What should I do with it?"),
    ("feature_request", "Would love a way to attach a photo to each entry, like a small thumbnail next to the title."),
    ("feature_request", "Could you let us choose which columns show up in the exported file?"),
    ("feature_request", "Please add a reminder that pops up the day before something is due."),
    ("feature_request", "It would be nice if the app remembered the last folder I used."),
    ("feature_request", "Can you make a family plan where we share one list but each person has their own login?"),
    ("feature_request", "An option to duplicate a whole project, with all its settings, would save me so much setup time."),
    ("feature_request", "Please let us sign documents inside the app instead of printing and scanning them."),
    ("feature_request", "Any chance of a high contrast theme? My eyesight isn't great."),
]

_ALT = re.compile(r"\[([^\[\]]+)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def fill(text: str, rng: random.Random) -> str:
    """Resolve ``[a|b]`` alternations and ``{slot}`` placeholders."""
    text = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), text)
    text = _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), text)
    return text


def lower_first(s: str) -> str:
    """Lower-case the first letter after an opener like "Hi," (keeps I, I'm, {product}, ...)."""
    first = s.split(" ", 1)[0]
    if first in ("I",) or first.startswith(("I'", "PayPal", "Single", "Sign", "\"")) or first.isupper():
        return s
    return s[0].lower() + s[1:]


def add_typos(text: str, rng: random.Random) -> str:
    """Make a ticket look hastily typed."""
    style = rng.random()
    if style < 0.25:
        # Hurried: lower case, no final period, dropped apostrophes.
        text = text.lower().rstrip(".").replace("'", "")
        return text
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 4]
    rng.shuffle(candidates)
    for i in candidates[: rng.choice([1, 1, 2])]:
        w = words[i]
        op = rng.random()
        j = rng.randrange(1, len(w) - 1)
        if op < 0.4:  # swap two letters
            w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif op < 0.7:  # drop a letter
            w = w[:j] + w[j + 1:]
        else:  # double a letter
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    text = " ".join(words)
    if rng.random() < 0.3:
        text = text.replace("I'm", "im").replace("don't", "dont").replace("can't", "cant")
    return text


def make_ticket(label: str, core: str, rng: random.Random) -> str:
    parts = []
    r = rng.random()
    if r < 0.05:
        parts.append(rng.choice(PREFIXES[label]))
    elif r < 0.45:
        parts.append(fill(rng.choice(OPENERS), rng))
    body = fill(core, rng)
    body = body[0].upper() + body[1:]
    if parts and parts[-1].endswith(","):
        body = lower_first(body)
    parts.append(body)
    if rng.random() < 0.45:
        detail = fill(rng.choice(DETAILS[label]), rng)
        parts.append(detail[0].upper() + detail[1:])
    if rng.random() < 0.4:
        parts.append(fill(rng.choice(CLOSINGS), rng))
    text = " ".join(parts)
    if rng.random() < 0.03:
        text = text.rstrip(".") + "!!!"
    if rng.random() < 0.13:
        text = add_typos(text, rng)
    return text


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def _too_close(text: str, others: list[str], limit: float = 0.5) -> bool:
    """True if ``text`` shares too many words (Jaccard) with an earlier ticket from the same core."""
    a = _words(text)
    return any(len(a & b) / len(a | b) > limit for b in map(_words, others))


def build(rng: random.Random) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    by_core: dict[str, list[str]] = {}
    for label, n in TARGET.items():
        cores = CORES[label]
        # Every core once, then further cores a second time, but only where the
        # second ticket comes out clearly different from the first.
        spare = rng.sample(cores, len(cores))
        made = 0
        for core in list(cores) + spare:
            if made == n:
                break
            for _ in range(300):
                text = make_ticket(label, core, rng)
                key = text.lower()
                if (MIN_WORDS <= len(text.split()) <= MAX_WORDS and key not in seen
                        and not _too_close(text, by_core.get(core, []))):
                    break
            else:
                if core in by_core:
                    continue  # no clearly different variant; try another core
                raise RuntimeError(f"could not make a ticket from {core!r}")
            seen.add(key)
            by_core.setdefault(core, []).append(text)
            rows.append((text, label))
            made += 1
        if made < n:
            raise RuntimeError(f"{label}: only {made} of {n} tickets; add more cores")
    rng.shuffle(rows)
    return rows


def main() -> None:
    rng = random.Random(SEED)
    rows = build(rng)
    labelled = {t.lower() for t, _ in rows}
    for _, t in UNLABELED:
        assert t.lower() not in labelled, t
    with open(HERE / "support_tickets.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["text", "label"])
        w.writerows(rows)
    with open(HERE / "support_tickets_unlabeled.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "text"])
        order = list(range(len(UNLABELED)))
        random.Random(SEED + 1).shuffle(order)
        for k, i in enumerate(order, start=1):
            w.writerow([k, UNLABELED[i][1]])
    print(f"wrote {len(rows)} labelled and {len(UNLABELED)} unlabelled tickets to {HERE}")


if __name__ == "__main__":
    main()
