"""An aiosmtpd handler for the notification tests: stores mail in a Maildir
like `aiosmtpd.handlers.Mailbox`, but refuses some recipients the way real
mail servers do: `reject...@` for good (550), `busy...@` for now (451).

Usage: python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c refusing_smtp.RefusingMailbox MAILDIR
(with this folder on PYTHONPATH).
"""

from aiosmtpd.handlers import Mailbox


class RefusingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 No such mailbox here"
        if address.startswith("busy"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"
