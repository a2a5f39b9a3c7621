"""Bot API answer envelopes and the error type methods raise, shaped exactly like Telegram's."""

from __future__ import annotations

from typing import Any

# Descriptions Telegram uses when an error has no more specific text.
DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class ApiError(Exception):
    """A Bot API failure: HTTP status == error_code, like api.telegram.org."""

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        self.error_code = error_code
        self.retry_after = retry_after
        self.parameters = dict(parameters or {})
        if retry_after is not None:
            self.parameters["retry_after"] = retry_after
        self.description = description or default_description(error_code, retry_after)
        super().__init__(self.description)

    def body(self) -> dict[str, Any]:
        return error_body(self.error_code, self.description, self.parameters)


def default_description(error_code: int, retry_after: int | None = None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return DEFAULT_DESCRIPTIONS.get(error_code, "Bad Request")


def ok_body(result: Any, description: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return body


def error_body(
    error_code: int, description: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    # "parameters" is present only when it carries something (retry_after, migrate_to_chat_id).
    body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, retry_after=retry_after)


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


def bad_webhook(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: bad webhook: {text}")
