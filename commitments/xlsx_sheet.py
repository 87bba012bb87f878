"""An Excel workbook of one sheet, written as its rows come, in memory flat in their number.

The export's sheet is text, numbers, dates and hyperlinks in rows, a bold header and column
widths: a few fixed parts (content types, workbook, styles, theme) and the sheet's XML.
XlsxWriter, which wrote it before, keeps every hyperlink as an object until the workbook closes
(a kilobyte each: +62 MiB at Excel's 65,530) and spends most of an export in its per-cell
bookkeeping. Here each row's XML is written to a temporary file as it comes, and each link's
`<hyperlink>` element and relationship to two more; closing copies them into the zip's parts.
The cells are the ones XlsxWriter wrote (its inline strings, escapes, date numbers, styles and
column widths; tests/commitments/test_xlsx_sheet.py reads both back with openpyxl).
"""

import datetime
import re
import shutil
import tempfile
import zipfile

from xlsxwriter.theme import THEME_XML_2007

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# The cell styles (styles.xml's cellXfs): plain, the header, a link, a date, a date and time.
PLAIN, BOLD, LINK, DAY, MOMENT = range(5)
DATE_FORMAT = "yyyy-mm-dd"

# Excel's limits: the characters of a cell (in UTF-16 units), of a link's address or anchor.
MAX_STRING = 32_767
MAX_URL = 2_079
# Excel's own escape of a control character in text, _xHHHH_, and of such a literal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
# Whatever makes a text need more than its characters written between <t> and </t>.
SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
EPOCH = datetime.date(1899, 12, 31).toordinal()
# Escapes of a link's address as Excel writes them (XlsxWriter's Url._escape_url).
URL_ESCAPES = (
    ("%", "%25"), ('"', "%22"), (" ", "%20"), ("<", "%3c"), (">", "%3e"), ("[", "%5b"),
    ("]", "%5d"), ("^", "%5e"), ("`", "%60"), ("{", "%7b"), ("}", "%7d"),
)  # fmt: skip
ESCAPED_URL = re.compile("%[0-9a-fA-F]{2}")
HYPERLINK = f"{RELATIONSHIPS}/hyperlink"


class SheetWriter:
    """`row()` by `row()`, then `close()`: the workbook in `handle` (a binary file)."""

    def __init__(self, handle, *, title: str, widths: list[float], max_links: int = 65_530):
        self.handle, self.title, self.widths = handle, title, widths
        self.max_links = max_links  # Excel's limit of links in a sheet; the rest are text
        self.rows = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        self.links = tempfile.TemporaryFile()  # noqa: SIM115
        self.relationships = tempfile.TemporaryFile()  # noqa: SIM115
        self.number = 0  # the row last given, 1 the first
        self.last_row = self.last_column = 0  # the last with a cell, 1 the first
        self.link_count = 0
        self.letters: list[str] = []

    def row(self, values: list, links: list | None = None, *, style: int = PLAIN) -> None:
        """One row: a cell per value (None and "" leave it blank), a str as text, a bool, a
        number, a date (a datetime without a zone as date and time); a value with a link
        (an http or https address) is its text linking there."""
        self.number += 1
        number, letters, cells = str(self.number), self._letters(len(values)), []
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = letters[column] + number
            target = links[column] if links else None
            if target is not None and self.link_count < self.max_links and self._link(ref, target):
                cells.append(_text(ref, str(value), LINK))
            elif value.__class__ is str:
                cells.append(_text(ref, value, style))
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}"{_style(style)} t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"{_style(style)}><v>{value:.16G}</v></c>')
            elif isinstance(value, datetime.datetime):
                cells.append(f'<c r="{ref}"{_style(MOMENT)}><v>{_serial(value):.16G}</v></c>')
            elif isinstance(value, datetime.date):
                cells.append(f'<c r="{ref}"{_style(DAY)}><v>{_serial(value):.16G}</v></c>')
            else:
                cells.append(_text(ref, str(value), style))
            self.last_column = max(self.last_column, column + 1)
        if cells:
            self.rows.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
            self.last_row = self.number

    def _letters(self, count: int) -> list[str]:
        while len(self.letters) < count:
            self.letters.append(column_letter(len(self.letters)))
        return self.letters

    def _link(self, ref: str, target: str) -> bool:
        """Keep the cell's link for the sheet's <hyperlinks> and its relationship, unless
        its address or anchor is longer than Excel reads (then the cell is plain text)."""
        address, _, anchor = target.partition("#")
        if len(address) > MAX_URL or len(anchor) > MAX_URL:
            return False
        self.link_count += 1
        rid = f"rId{self.link_count}"
        location = f' location="{_attribute(anchor)}"' if anchor else ""
        self.links.write(f'<hyperlink ref="{ref}" r:id="{rid}"{location}/>'.encode())
        self.relationships.write(
            f'<Relationship Id="{rid}" Type="{HYPERLINK}" Target="{_attribute(_url(address))}" '
            'TargetMode="External"/>'.encode()
        )
        return True

    def close(self) -> None:
        with zipfile.ZipFile(self.handle, "w", zipfile.ZIP_DEFLATED) as package:
            for name, text in self._fixed_parts().items():
                package.writestr(name, text)
            with package.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(self._sheet_head().encode())
                _copy(self.rows, sheet)
                sheet.write(b"</sheetData>")
                if self.link_count:
                    sheet.write(b"<hyperlinks>")
                    _copy(self.links, sheet)
                    sheet.write(b"</hyperlinks>")
                sheet.write(
                    b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
                    b'header="0.3" footer="0.3"/></worksheet>'
                )
            if self.link_count:
                name = "xl/worksheets/_rels/sheet1.xml.rels"
                with package.open(name, "w", force_zip64=True) as relationships:
                    relationships.write(f'{HEAD}<Relationships xmlns="{PACKAGE}">'.encode())
                    _copy(self.relationships, relationships)
                    relationships.write(b"</Relationships>")
        for part in (self.rows, self.links, self.relationships):
            part.close()

    def _sheet_head(self) -> str:
        last = f"{column_letter(self.last_column - 1)}{self.last_row}" if self.last_row else "A1"
        dimension = "A1" if last == "A1" else f"A1:{last}"
        return (
            f'{HEAD}<worksheet xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f'<dimension ref="{dimension}"/><sheetViews><sheetView tabSelected="1" '
            'workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f"{self._columns()}<sheetData>"
        )

    def _columns(self) -> str:
        """The widths (in characters, as XlsxWriter's set_column takes them), a <col> for each
        run of columns of the same width."""
        if not self.widths:
            return ""
        runs, start = [], 0
        for index in range(1, len(self.widths) + 1):
            if index == len(self.widths) or self.widths[index] != self.widths[start]:
                runs.append(
                    f'<col min="{start + 1}" max="{index}" '
                    f'width="{_excel_width(self.widths[start]):.16g}" customWidth="1"/>'
                )
                start = index
        return f"<cols>{''.join(runs)}</cols>"

    def _fixed_parts(self) -> dict[str, str]:
        title = _attribute(self.title)
        links = (
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        )
        office = "application/vnd.openxmlformats-officedocument"
        overrides = {
            "/docProps/app.xml": f"{office}.extended-properties+xml",
            "/docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
            "/xl/styles.xml": f"{office}.spreadsheetml.styles+xml",
            "/xl/theme/theme1.xml": f"{office}.theme+xml",
            "/xl/workbook.xml": f"{office}.spreadsheetml.sheet.main+xml",
            "/xl/worksheets/sheet1.xml": f"{office}.spreadsheetml.worksheet+xml",
        }
        types = "".join(
            f'<Override PartName="{part}" ContentType="{kind}"/>'
            for part, kind in overrides.items()
        )
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        document = "http://schemas.openxmlformats.org/officeDocument/2006"
        return {
            "[Content_Types].xml": f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/'
            f'package/2006/content-types">{links}{types}</Types>',
            "_rels/.rels": _relationships(
                (f"{document}/relationships/officeDocument", "xl/workbook.xml"),
                (f"{PACKAGE}/metadata/core-properties", "docProps/core.xml"),
                (f"{document}/relationships/extended-properties", "docProps/app.xml"),
            ),
            "docProps/app.xml": f'{HEAD}<Properties xmlns="{document}/extended-properties" '
            f'xmlns:vt="{document}/docPropsVTypes"><Application>Microsoft Excel</Application>'
            "<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><HeadingPairs>"
            '<vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets'
            "</vt:lpstr></vt:variant><vt:variant><vt:i4>1</vt:i4></vt:variant></vt:vector>"
            '</HeadingPairs><TitlesOfParts><vt:vector size="1" baseType="lpstr"><vt:lpstr>'
            f"{title}</vt:lpstr></vt:vector></TitlesOfParts><Company></Company>"
            "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
            "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion>"
            "</Properties>",
            "docProps/core.xml": f'{HEAD}<cp:coreProperties xmlns:cp="{PACKAGE[:-14]}'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator></dc:creator>'
            "<cp:lastModifiedBy></cp:lastModifiedBy>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
            "</cp:coreProperties>",
            "xl/_rels/workbook.xml.rels": _relationships(
                (f"{document}/relationships/worksheet", "worksheets/sheet1.xml"),
                (f"{document}/relationships/theme", "theme/theme1.xml"),
                (f"{document}/relationships/styles", "styles.xml"),
            ),
            "xl/workbook.xml": f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            '<fileVersion appName="xl" lastEdited="4" lowestEdited="4" rupBuild="4505"/>'
            '<workbookPr defaultThemeVersion="124226"/><bookViews><workbookView xWindow="240" '
            'yWindow="15" windowWidth="16095" windowHeight="9660"/></bookViews><sheets>'
            f'<sheet name="{title}" sheetId="1" r:id="rId1"/></sheets>'
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>',
            "xl/styles.xml": STYLES,
            "xl/theme/theme1.xml": THEME_XML_2007,
        }


# The five cell styles of PLAIN ... MOMENT; the link's is Excel's built-in "Hyperlink".
FONT = '<sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/>'
STYLES = (
    f'{HEAD}<styleSheet xmlns="{MAIN}"><numFmts count="2">'
    f'<numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE_FORMAT} hh:mm"/></numFmts>'
    f'<fonts count="3"><font>{FONT}</font><font><b/>{FONT}</font><font><u/><sz val="11"/>'
    '<color theme="10"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/>'
    '<right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="2">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/><xf numFmtId="0" fontId="2" '
    'fillId="0" borderId="0" applyNumberFormat="0" applyFill="0" applyBorder="0" '
    'applyAlignment="0" applyProtection="0"><alignment vertical="top"/>'
    '<protection locked="0"/></xf></cellStyleXfs><cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="1" applyAlignment="1" '
    'applyProtection="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="2"><cellStyle name="Hyperlink" xfId="1" builtinId="8"/>'
    '<cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/>'
    '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
    'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
)


def column_letter(index: int) -> str:
    """The column's letters from its index, 0 being A."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _style(style: int) -> str:
    return f' s="{style}"' if style else ""


def _text(ref: str, text: str, style: int) -> str:
    """An inline string cell, escaped as Excel does."""
    preserve = ""
    if SPECIAL.search(text) or len(text) > MAX_STRING // 2:
        text, preserve = _escaped(text)
    return f'<c r="{ref}"{_style(style)} t="inlineStr"><is><t{preserve}>{text}</t></is></c>'


def _escaped(text: str) -> tuple[str, str]:
    """The text cut to Excel's length, its control characters as _xHHHH_, the XML's own
    characters escaped; and whether its edges' whitespace must be kept."""
    if len(text) > MAX_STRING // 2:
        text = text.encode("utf-16-le", "surrogatepass")[: MAX_STRING * 2]
        text = text.decode("utf-16-le", "ignore")
    text = LITERAL_ESCAPE.sub(r"_x005F\1", text)
    text = CONTROL.sub(lambda match: f"_x{ord(match.group()):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    keep = text[:1].isspace() or text[-1:].isspace()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text, ' xml:space="preserve"' if keep else ""


def _attribute(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "&#xA;")
    )


def _url(address: str) -> str:
    if ESCAPED_URL.search(address):  # already escaped
        return address
    for character, escape in URL_ESCAPES:
        address = address.replace(character, escape)
    return address


def _serial(value: datetime.date) -> float:
    """Excel's number for a day (and time): days since 1899-12-31, one more after February
    1900 (Excel's leap day that was not)."""
    days = value.toordinal() - EPOCH
    if isinstance(value, datetime.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        serial = days + (seconds + value.microsecond / 1e6) / 86400
        if value.date() == datetime.date(1900, 1, 1):
            serial -= 1
    else:
        serial = days
    return serial + 1 if serial > 59 else serial


def _excel_width(characters: float) -> float:
    """A width in characters as Excel stores it: in pixels with its padding, then back."""
    pixels = int(characters * 7 + 0.5) + 5 if characters >= 1 else int(characters * 12 + 0.5)
    return (pixels * 256 // 7) / 256


def _relationships(*pairs: tuple[str, str]) -> str:
    return (
        f'{HEAD}<Relationships xmlns="{PACKAGE}">'
        + "".join(
            f'<Relationship Id="rId{index}" Type="{kind}" Target="{target}"/>'
            for index, (kind, target) in enumerate(pairs, 1)
        )
        + "</Relationships>"
    )


def _copy(source, target) -> None:
    source.seek(0)
    shutil.copyfileobj(source, target, 1 << 20)
