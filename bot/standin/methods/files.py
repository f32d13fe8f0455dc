"""Files: sendDocument and getFile (downloads are served by the server)."""

from __future__ import annotations

import mimetypes

from bot.standin.methods.messages import MessageMethods
from bot.standin.records import (
    CAPTION_LIMIT,
    DOWNLOAD_LIMIT,
    UPLOAD_LIMIT,
    ApiError,
    JSONDict,
    UploadedFile,
    bad,
)
from bot.standin.wire import Params


class FileMethods(MessageMethods):
    """Documents the bot sends, and the files it fetches."""

    def _api_sendDocument(self, p: Params) -> JSONDict:
        chat = self._chat(p, sending=True)
        document = p.get("document")
        if isinstance(document, str) and document.startswith("attach://"):
            document = p.files.get(document[9:])
            if document is None:
                raise bad("wrong file identifier/HTTP URL specified")
        if document is None or document == "":
            raise bad("there is no document in the request")
        if isinstance(document, UploadedFile):
            if not document.content:
                raise bad("file must be non-empty")
            if len(document.content) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            mime = document.content_type
            if mime == "application/octet-stream":
                mime = mimetypes.guess_type(document.filename)[0] or mime
            stored = self._store_file(document.filename or "document", document.content, mime)
        elif isinstance(document, str) and document.lower().startswith(("http://", "https://")):
            raise bad("failed to get HTTP URL content")
        elif isinstance(document, str) and document in self._files:
            stored = self._files[document]
        else:
            raise bad("wrong file identifier/HTTP URL specified")
        content = self._content(p, limit=CAPTION_LIMIT, caption=True)
        return self._send(
            chat,
            p,
            content,
            "sendDocument",
            fields={"document": stored.as_document()},
            document_name=stored.filename,
            document_bytes=stored.content,
            file_id=stored.file_id,
        )

    def _api_getFile(self, p: Params) -> JSONDict:
        file_id = p.text("file_id")
        if not file_id:
            raise bad("file_id is empty")
        stored = self._files.get(file_id)
        if stored is None:
            raise bad("invalid file_id")
        if len(stored.content) > DOWNLOAD_LIMIT:
            raise bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }
