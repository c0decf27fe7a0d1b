"""Rater tokens never reach the logs.

A rater's token is their only credential and it is in their URLs (/r/<token>/...,
/api/studies/rater/<token>/...). Django logs the path of every 4xx and 5xx answer at WARNING or
ERROR ("Not Found: /r/<token>/done/"), runserver logs every request line, and anyone who reads
the console or a log shipper could then answer as that rater. This filter, on the site's log
handler (evalsite/settings.py LOGGING), rewrites each record's message with the tokens cut out;
the rest of the path stays, so a log still says which endpoint failed.
"""
import logging
import re

# The URL shapes that carry a token (studies/urls.py, studies/api/urls.py); keys as OpaqueKeyConverter.
_TOKEN_IN_PATH = re.compile(r"(/r/|/api/studies/rater/)[A-Za-z0-9_-]{1,64}")
REDACTED = r"\1[token]"


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(REDACTED, text)


class RedactRaterTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # a traceback that names a URL would be formatted later from the exception: format now, cleaned
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
