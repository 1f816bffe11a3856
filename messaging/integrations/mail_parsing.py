"""Reading inbound email for the email channel (messaging/integrations/email.py):
one RFC 822 message as what the engine needs from it.

- `read(raw)`: the message parsed with the standard library's modern parser
  (email.policy.default), or MailError when it is not a message at all;
- `kind(message)`: "bounce" (a delivery status notification:
  multipart/report; report-type=delivery-status, a MAILER-DAEMON or
  postmaster sender, or X-Failed-Recipients), "auto" (an automatic answer:
  Auto-Submitted other than "no" (RFC 3834), Precedence bulk/junk/list,
  X-Autoreply / X-Autorespond) or "reply" (a person wrote);
- `bounced_id(message)`: the Message-ID of the email a bounce answers, and
  `bounce_reason(message)`: its Status and Diagnostic-Code;
- `body_text(message)`: the text/plain part (or the HTML one as text);
- `split_reply(text)`: only what the person wrote now, without the quoted
  history and the signature;
- `attachments(message)`: its files (attachments and inline images).

No maintained reply parser (talon, email_reply_parser, mail-parser-reply)
is among Parley's dependencies, so `split_reply` is a small splitter of
its own, written for the shapes common clients produce (Gmail's "On ...
wrote:", Apple Mail's, Outlook's "From: / Sent:" block and its rule line,
"-----Original Message-----", ">" quoting, "-- " and "Sent from my ..."
signatures) and tested on real-looking samples (tests/channels/mail/).
"""

import email
import email.policy
import re
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser


class MailError(Exception):
    """The bytes are not an email Parley can read."""


ATTACHMENTS_MAX = 5  # files taken from one email; the rest are left out

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_AUTO_PRECEDENCE = {"bulk", "junk", "list"}
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")

# Where the quoted history starts: the first line matching one of these.
_QUOTE_HEADERS = [
    # Gmail, Apple Mail, Thunderbird: "On Tue, 1 Dec 2026 at 10:02, Tacos <...> wrote:"
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.I | re.S),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.I | re.S),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.I | re.S),
    re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*_{20,}\s*$"),  # Outlook's rule above its header block
    re.compile(r"^\s*Begin forwarded message:\s*$", re.I),
]
# Outlook's header block without a rule: "From: ..." then "Sent:" or "Date:".
_FROM_LINE = re.compile(r"^\s*\*?From:\*?\s", re.I)
_SENT_LINE = re.compile(r"^\s*\*?(Sent|Date):\*?\s", re.I)
_SIGNATURE_LINES = [
    re.compile(r"^-- ?$"),  # RFC 3676's signature separator ("-- "), and a trimmed one
    re.compile(r"^\s*Sent from my \w+", re.I),
    re.compile(r"^\s*Get Outlook for \w+", re.I),
    re.compile(r"^\s*Sent from (Mail|Yahoo Mail|Outlook) for \w+", re.I),
]


def read(raw: bytes) -> EmailMessage:
    """The message in `raw`; MailError when it has no From address (every
    message has one, RFC 5322 3.6) or cannot be parsed."""
    if not raw or not raw.strip():
        raise MailError("The message is empty.")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        sender = sender_address(message)
    except (ValueError, TypeError, IndexError, AttributeError) as error:
        raise MailError(f"The message cannot be read: {type(error).__name__}")
    if message.defects and not message.keys():
        raise MailError("The message has no headers.")
    if not sender:
        raise MailError("The message has no From address.")
    return message


def header(message, name: str) -> str:
    """One header as text ("" when absent or unreadable)."""
    try:
        value = message.get(name)
    except (ValueError, TypeError, IndexError):
        return ""
    return str(value or "").strip()


def sender_address(message) -> str:
    """The From address, lower-cased (what the user is known by)."""
    _, address = parseaddr(header(message, "From"))
    return address.strip().lower() if "@" in address else ""


def sender_name(message) -> str:
    name, _ = parseaddr(header(message, "From"))
    return name.strip()


def message_id(message) -> str:
    found = _MESSAGE_ID.search(header(message, "Message-ID"))
    return found.group(0) if found else ""


def message_ids(value: str) -> list[str]:
    """The <...> ids in an In-Reply-To or References header, in order."""
    return _MESSAGE_ID.findall(value or "")


def recipients(message) -> list[str]:
    """Every address the message was sent to (To, Cc, Delivered-To,
    X-Original-To), lower-cased: the Reply-To token is in one of them."""
    values = [header(message, name) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    return [address.lower() for _, address in getaddresses([v for v in values if v]) if "@" in address]


def kind(message) -> str:
    if _is_bounce(message):
        return "bounce"
    if _is_auto(message):
        return "auto"
    return "reply"


def _is_bounce(message) -> bool:
    if message.get_content_type() == "multipart/report" and \
            message.get_param("report-type", "").lower() == "delivery-status":
        return True
    if header(message, "X-Failed-Recipients"):
        return True
    return bool(_BOUNCE_SENDERS.match(sender_address(message)))


def _is_auto(message) -> bool:
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return True
    if header(message, "Precedence").lower() in _AUTO_PRECEDENCE:
        return True
    return bool(header(message, "X-Autoreply") or header(message, "X-Autorespond"))


def bounced_id(message) -> str:
    """The Message-ID of the email the bounce is about: from the returned
    message (message/rfc822 or text/rfc822-headers part), else the
    bounce's In-Reply-To, else the last of its References."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, email.message.Message) and message_id(inner):
                return message_id(inner)
        elif content_type == "text/rfc822-headers":
            headers = email.message_from_string(_part_text(part), policy=email.policy.default)
            if message_id(headers):
                return message_id(headers)
    replied = message_ids(header(message, "In-Reply-To")) or message_ids(header(message, "References"))[-1:]
    return replied[0] if replied else ""


def bounce_reason(message) -> str:
    """Status and Diagnostic-Code of the delivery-status part, where there is one."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        fields = {}
        for block in part.get_payload() if isinstance(part.get_payload(), list) else []:
            for name in ("Status", "Diagnostic-Code", "Final-Recipient"):
                if block.get(name) and name not in fields:
                    fields[name] = " ".join(str(block.get(name)).split())
        if fields:
            return "; ".join(f"{name}: {value}" for name, value in fields.items())[:500]
    failed = header(message, "X-Failed-Recipients")
    return f"Delivery failed to {failed}" if failed else "The email bounced"


def _part_text(part) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        content = part.get_payload(decode=True) or b""
    if isinstance(content, bytes):
        content = content.decode(part.get_content_charset() or "utf-8", errors="replace")
    return content if isinstance(content, str) else str(content)


def body_text(message) -> str:
    """The message's text: its text/plain body, else its HTML body as text."""
    try:
        part = message.get_body(preferencelist=("plain",))
        if part is not None:
            return _part_text(part)
        part = message.get_body(preferencelist=("html",))
    except (KeyError, ValueError, AttributeError):
        return ""
    return html_to_text(_part_text(part)) if part is not None else ""


class _TextOfHtml(HTMLParser):
    """HTML as its text: block elements end lines, a blockquote (the
    quoted history of HTML-only clients) is marked with ">" lines, scripts
    and styles dropped."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table", "blockquote", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines, self.current, self.quote, self.skip = [], [], 0, 0

    def _end_line(self):
        text = " ".join("".join(self.current).split())
        self.lines.append(("> " * self.quote + text) if text or self.quote else "")
        self.current = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self._end_line()
            self.quote += tag == "blockquote"

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)

    def handle_data(self, data):
        if not self.skip:
            self.current.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html or "")
    parser.close()
    parser._end_line()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parser.lines)).strip()


def _quote_start(lines: list[str]) -> int:
    """The index of the first line of the quoted history (len(lines): none)."""
    for index, line in enumerate(lines):
        # Gmail wraps a long "On ... wrote:" over two lines.
        joined = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_HEADERS) or (
                line.strip().startswith("On ") and _QUOTE_HEADERS[0].match(joined)):
            return index
        if _FROM_LINE.match(line) and any(_SENT_LINE.match(n) for n in lines[index + 1:index + 4]):
            return index
        if line.startswith(">") and all(not n.strip() or n.startswith(">") for n in lines[index:]):
            return index
    return len(lines)


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if any(p.match(line) for p in _SIGNATURE_LINES):
            return index
    return len(lines)


def split_reply(text: str) -> str:
    """What the person wrote in this email: the text above the quoted
    history, without the signature. A message that is all quote (a bare
    forward) is kept whole rather than emptied."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[:_quote_start(lines)]
    lines = lines[:_signature_start(lines)]
    reply = "\n".join(lines).strip()
    return reply or (text or "").strip()


def attachments(message) -> list[dict]:
    """The message's files, at most ATTACHMENTS_MAX: parts with a
    Content-Disposition of attachment, and inline images; each as
    {"content": bytes, "contentType", "filename"}."""
    files = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = (part.get_content_disposition() or "").lower()
        is_image = part.get_content_maintype() == "image"
        if disposition != "attachment" and not (is_image and (disposition == "inline" or part.get_filename())):
            continue
        content = part.get_payload(decode=True)
        if not content:
            continue
        files.append({"content": content, "contentType": part.get_content_type(),
                      "filename": part.get_filename() or ""})
        if len(files) == ATTACHMENTS_MAX:
            break
    return files
