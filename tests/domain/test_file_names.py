"""File names from outside (a WhatsApp sender, a browser upload), cleaned once for every place WaPipe uses
them: Pipedrive Files, chat-view uploads, the name a download is saved under. Expected names are written
out by hand."""

from __future__ import annotations

import pytest

from server.domain.file_names import clean_file_name


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # Directories go, whichever separator the sender's system used.
        ("../../invoice\u202efdp.exe", "invoicefdp.exe"),
        ("..\\..\\Windows\\System32\\evil.bat", "evil.bat"),
        ("C:\\Users\\maria\\Angebot.pdf", "Angebot.pdf"),
        ("/etc/passwd", "passwd"),
        ("dir/..hidden", "hidden"),
        # Leading dots (hidden files, "..") and trailing dots and spaces.
        (".htaccess", "htaccess"),
        ("...profile.txt", "profile.txt"),
        ("report.pdf. . ", "report.pdf"),
        # Control characters, bidi overrides and isolates, zero-width characters.
        ("a\x00b\x1fc\x7fd.txt", "abcd.txt"),
        ("tab\there\nline.txt", "tabhereline.txt"),
        ("zero\u200bwidth\u200d\u2060\ufeff.png", "zerowidth.png"),
        ("bidi\u2066x\u2069\u202a\u202b\u202c\u202d.pdf", "bidix.pdf"),
        ("line\u2028para\u2029.txt", "linepara.txt"),
        # Characters a file system or a header would read as syntax become "_".
        ('say "hi".txt', "say _hi_.txt"),
        ("a:b*c?d<e>f|g;h.txt", "a_b_c_d_e_f_g_h.txt"),
        # Letters of any language stay.
        ("Angebot März – Ü.pdf", "Angebot März – Ü.pdf"),
        ("見積書.xlsx", "見積書.xlsx"),
        # Nothing left: the fallback.
        ("", "attachment"),
        ("/", "attachment"),
        ("...", "attachment"),
        ("\u202e\u200b", "attachment"),
        ("dir/", "attachment"),
        (" . ", "attachment"),
    ],
)
def test_a_name_is_cleaned(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


def test_no_name_at_all_gets_the_fallback() -> None:
    assert clean_file_name(None) == "attachment"
    assert clean_file_name("", fallback="WhatsApp image 1a2b3c4d.jpg") == "WhatsApp image 1a2b3c4d.jpg"
    assert (
        clean_file_name("../", fallback="WhatsApp document 00ff00ff.bin") == "WhatsApp document 00ff00ff.bin"
    )


def test_a_long_name_is_cut_to_120_characters_keeping_its_extension() -> None:
    assert clean_file_name("x" * 200 + ".pdf") == "x" * 116 + ".pdf"
    assert clean_file_name("x" * 117 + ".pdf") == "x" * 116 + ".pdf"
    assert clean_file_name("x" * 116 + ".pdf") == "x" * 116 + ".pdf"  # exactly 120: kept whole
    assert clean_file_name("y" * 300) == "y" * 120
    # The cut never leaves a name ending in a dot or a space before the extension.
    assert clean_file_name("a" * 113 + " ." + "b" * 5 + ".docx") == "a" * 113 + ".docx"
    # An "extension" longer than 16 characters is part of the name, cut like the rest.
    assert clean_file_name("n" * 10 + "." + "e" * 150) == "n" * 10 + "." + "e" * 109


def test_cleaning_twice_changes_nothing() -> None:
    for raw in ("../../invoice\u202efdp.exe", "x" * 200 + ".pdf", '.."a"..', "C:\\a\\.b.c"):
        once = clean_file_name(raw)
        assert clean_file_name(once) == once, raw
