"""The unsubscribe pages a person sees on a phone: confirm, done, not found, expired, unavailable (French or
English).

Small (about 2 KB each), no JavaScript, no external resource: one inline stylesheet allowed by its hash in
the Content-Security-Policy. Accessible: ``lang``, a heading, a button with a visible label 48 px high,
text and button contrast above 7:1, and a spoken form of the masked number.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Mapping

LANGUAGES = ("fr", "en")
_FRENCH_PLAN_CODES = ("33", "262", "590", "594", "596")
DEFAULT_LANGUAGE = "fr"

STYLE = (
    "body{margin:0;font:1.125rem/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;"
    "background:#fff}main{max-width:32rem;margin:0 auto;padding:1.5rem 1.25rem}h1{font-size:1.5rem;"
    "line-height:1.25;margin:0 0 1rem}.number{font-size:1.375rem;font-weight:700;letter-spacing:.05em;"
    "white-space:nowrap}button{display:block;width:100%;min-height:3rem;margin:1.5rem 0 1rem;padding:.75rem 1rem;"
    "font:inherit;font-weight:700;color:#fff;background:#1746a2;border:0;border-radius:.5rem;cursor:pointer}"
    "button:focus-visible{outline:3px solid #1a1a1a;outline-offset:3px}.note{color:#444;font-size:1rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
    "x-robots-tag": "noindex, nofollow",
}

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "confirm_title": "Se désabonner des SMS",
        "confirm_heading": "Ne plus recevoir nos SMS",
        "confirm_lead": "Appuyez sur le bouton pour ne plus recevoir nos SMS au numéro",
        "button": "Me désabonner",
        "confirm_note": "Rien ne change tant que vous n'appuyez pas sur le bouton.",
        "done_title": "Désabonnement enregistré",
        "done_heading": "C'est fait",
        "done_lead": "Votre demande est enregistrée. Vous ne recevrez plus nos SMS au numéro",
        "done_note": "Vous pouvez fermer cette page.",
        "not_found_title": "Lien non valide",
        "not_found_heading": "Ce lien n'est pas valide",
        "not_found_lead": "Vérifiez que le lien a été copié en entier depuis le SMS, "
        "ou répondez STOP au SMS pour vous désabonner.",
        "expired_title": "Lien expiré",
        "expired_heading": "Ce lien a expiré",
        "expired_lead": "Pour ne plus recevoir nos SMS, répondez STOP au SMS que vous avez reçu. "
        "Votre demande sera prise en compte sans autre démarche.",
        "unavailable_title": "Service indisponible",
        "unavailable_heading": "Service momentanément indisponible",
        "unavailable_lead": "Réessayez dans quelques minutes, ou répondez STOP au SMS pour vous désabonner.",
        "spoken_number": "numéro se terminant par {digits}",
    },
    "en": {
        "confirm_title": "Unsubscribe from text messages",
        "confirm_heading": "Stop receiving our text messages",
        "confirm_lead": "Press the button to stop receiving our text messages on",
        "button": "Unsubscribe",
        "confirm_note": "Nothing changes until you press the button.",
        "done_title": "Unsubscribed",
        "done_heading": "Done",
        "done_lead": "Your request is recorded. You will no longer receive our text messages on",
        "done_note": "You can close this page.",
        "not_found_title": "Invalid link",
        "not_found_heading": "This link is not valid",
        "not_found_lead": "Check that the whole link was copied from the text message, or reply STOP to it "
        "to unsubscribe.",
        "expired_title": "Link expired",
        "expired_heading": "This link has expired",
        "expired_lead": "To stop receiving our text messages, reply STOP to the text message you received. "
        "Nothing else is needed.",
        "unavailable_title": "Service unavailable",
        "unavailable_heading": "Service temporarily unavailable",
        "unavailable_lead": "Try again in a few minutes, or reply STOP to the text message to unsubscribe.",
        "spoken_number": "number ending in {digits}",
    },
}


def choose_language(accept_language: str | None) -> str:
    """The supported language the browser prefers most (``Accept-Language`` q-values), French by default."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for entry in (accept_language or "")[:512].split(","):
        tag, _, params = entry.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LANGUAGES:
            continue
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                continue
        if q > best_q:
            best, best_q = language, q
    return best


def mask_for_display(e164: str) -> str:
    """``+33612345677`` -> ``06 ** ** ** 77``: a number of the French plan (mainland, and the overseas codes
    that share it: +262, +590, +594, +596) as people write it; others ``+49 ** … 89``."""
    digits = e164.removeprefix("+")
    for code in _FRENCH_PLAN_CODES:
        national = digits.removeprefix(code)
        if national != digits and len(national) == 9:
            return f"0{national[0]} ** ** ** {national[-2:]}"
    middle = " ".join("**" for _ in range(max(1, (len(digits) - 4 + 1) // 2)))
    return f"+{digits[:2]} {middle} {digits[-2:]}"


def confirm_page(language: str, e164: str) -> str:
    text = TEXTS[language]
    body = (
        f"<p>{text['confirm_lead']}</p>\n{_number(text, e164)}\n"
        f'<form method="post" aria-labelledby="title">\n<button type="submit">{text["button"]}</button>\n</form>\n'
        f'<p class="note">{text["confirm_note"]}</p>'
    )
    return _page(language, text["confirm_title"], text["confirm_heading"], body)


def done_page(language: str, e164: str) -> str:
    text = TEXTS[language]
    body = f'<p>{text["done_lead"]}</p>\n{_number(text, e164)}\n<p class="note">{text["done_note"]}</p>'
    return _page(language, text["done_title"], text["done_heading"], body)


def not_found_page(language: str) -> str:
    text = TEXTS[language]
    return _page(language, text["not_found_title"], text["not_found_heading"], f"<p>{text['not_found_lead']}</p>")


def expired_page(language: str) -> str:
    text = TEXTS[language]
    return _page(language, text["expired_title"], text["expired_heading"], f"<p>{text['expired_lead']}</p>")


def unavailable_page(language: str) -> str:
    text = TEXTS[language]
    return _page(language, text["unavailable_title"], text["unavailable_heading"], f"<p>{text['unavailable_lead']}</p>")


def page_headers(language: str) -> Mapping[str, str]:
    return {**HEADERS, "content-language": language}


def _number(text: Mapping[str, str], e164: str) -> str:
    masked = mask_for_display(e164)
    spoken = text["spoken_number"].format(digits=" ".join(masked[-2:]))
    return f'<p class="number" aria-label="{html.escape(spoken)}">{html.escape(masked)}</p>'


def _page(language: str, title: str, heading: str, body: str) -> str:
    return (
        f'<!doctype html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f'<h1 id="title">{html.escape(heading)}</h1>\n{body}\n</main>\n</body>\n</html>\n'
    )
