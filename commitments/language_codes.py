"""The language codes a document's text may be recorded in: a language of ISO 639-1 (two
letters) or one Django knows (some have three), optionally with a script and a region, as in
"en", "ru", "zh-Hans", "pt-BR", "es-419". Lenient on case; strict on the language itself, so
a slip such as "xx-junk" is refused."""

import re

from django.conf import global_settings

_ISO_639_1_TEXT = """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr
    ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw
    ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv
    ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr
    ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi
    yo za zu
"""
ISO_639_1 = frozenset(_ISO_639_1_TEXT.split())

LANGUAGES = ISO_639_1 | {code.split("-")[0] for code, _ in global_settings.LANGUAGES}

CODE = re.compile(
    r"(?P<language>[a-z]{2,3})(-(?P<script>[a-z]{4}))?(-(?P<region>[a-z]{2}|[0-9]{3}))?",
    re.IGNORECASE,
)


def language_code_known(code: str) -> bool:
    match = CODE.fullmatch(code)
    return match is not None and match["language"].lower() in LANGUAGES
