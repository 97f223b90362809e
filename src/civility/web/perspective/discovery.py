"""Perspective's discovery document, served at `/$discovery/rest?version=v1alpha1` with this
server as its `rootUrl`.

Google's client libraries build their Perspective client from this document (Python:
`googleapiclient.discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY,
discoveryServiceUrl=URL, static_discovery=False)`; Node's `googleapis` likewise), so a newsroom
moves to Civility by changing that one URL. The document describes what Civility's two methods
take and answer (docs/migrating-from-perspective.md), in the shape of Google's own."""

from __future__ import annotations

from .protocol import MAX_COMMENT_BYTES, SUPPORTED_ATTRIBUTES

VERSION = "v1alpha1"


def _string(description: str, **extra) -> dict:
    return {"type": "string", "description": description, **extra}


def _ref(name: str) -> dict:
    return {"$ref": name}


SCHEMAS = {
    "TextEntry": {
        "id": "TextEntry",
        "type": "object",
        "description": "A piece of text and its format.",
        "properties": {
            "text": _string(f"The text, at most {MAX_COMMENT_BYTES:,} bytes of UTF-8."),
            "type": _string("The text's format.", enum=["PLAIN_TEXT", "HTML"]),
        },
    },
    "Context": {
        "id": "Context",
        "type": "object",
        "description": "The article the comment was posted under, as text entries (OFF_TOPIC "
        "and relevance are judged against them).",
        "properties": {
            "entries": {"type": "array", "items": _ref("TextEntry")},
            "articleAndParentComment": _ref("ArticleAndParentComment"),
        },
    },
    "ArticleAndParentComment": {
        "id": "ArticleAndParentComment",
        "type": "object",
        "description": "Accepted for compatibility; Civility reads `entries`.",
        "properties": {"article": _ref("TextEntry"), "parentComment": _ref("TextEntry")},
    },
    "AttributeParameters": {
        "id": "AttributeParameters",
        "type": "object",
        "properties": {
            "scoreType": _string("Only PROBABILITY.", enum=["PROBABILITY"]),
            "scoreThreshold": {
                "type": "number",
                "format": "float",
                "description": "Scores below this are left out of the answer.",
            },
        },
    },
    "AnalyzeCommentRequest": {
        "id": "AnalyzeCommentRequest",
        "type": "object",
        "properties": {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "requestedAttributes": {
                "type": "object",
                "description": "Attributes to score: " + ", ".join(SUPPORTED_ATTRIBUTES) + ".",
                "additionalProperties": _ref("AttributeParameters"),
            },
            "languages": {"type": "array", "items": {"type": "string"}},
            "doNotStore": {
                "type": "boolean",
                "description": "Civility never stores analyze calls.",
            },
            "clientToken": _string("Echoed in the answer."),
            "sessionId": _string("Accepted and ignored."),
            "communityId": _string("Accepted and ignored."),
            "spanAnnotations": {"type": "boolean"},
            "dropUnsupportedAttributes": {"type": "boolean"},
        },
    },
    "Score": {
        "id": "Score",
        "type": "object",
        "properties": {
            "value": {"type": "number", "format": "float"},
            "type": _string("PROBABILITY", enum=["PROBABILITY"]),
        },
    },
    "SpanScore": {
        "id": "SpanScore",
        "type": "object",
        "properties": {
            "begin": {"type": "integer", "format": "int32"},
            "end": {"type": "integer", "format": "int32"},
            "score": _ref("Score"),
        },
    },
    "AttributeScores": {
        "id": "AttributeScores",
        "type": "object",
        "properties": {
            "summaryScore": _ref("Score"),
            "spanScores": {"type": "array", "items": _ref("SpanScore")},
        },
    },
    "AnalyzeCommentResponse": {
        "id": "AnalyzeCommentResponse",
        "type": "object",
        "properties": {
            "attributeScores": {"type": "object", "additionalProperties": _ref("AttributeScores")},
            "languages": {"type": "array", "items": {"type": "string"}},
            "detectedLanguages": {"type": "array", "items": {"type": "string"}},
            "clientToken": {"type": "string"},
        },
    },
    "SuggestCommentScoreRequest": {
        "id": "SuggestCommentScoreRequest",
        "type": "object",
        "properties": {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "attributeScores": {"type": "object", "additionalProperties": _ref("AttributeScores")},
            "languages": {"type": "array", "items": {"type": "string"}},
            "clientToken": _string("Echoed in the answer."),
            "sessionId": _string("Accepted and ignored."),
            "communityId": _string("Stored with the example."),
        },
    },
    "SuggestCommentScoreResponse": {
        "id": "SuggestCommentScoreResponse",
        "type": "object",
        "properties": {"clientToken": {"type": "string"}},
    },
}


def _method(name: str, request: str, response: str, description: str) -> dict:
    path = f"{VERSION}/comments:{name}"
    return {
        "id": f"commentanalyzer.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request),
        "response": _ref(response),
        "description": description,
    }


def document(root_url: str) -> dict:
    """The discovery document with `root_url` (ending in "/") as the service's address."""
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"commentanalyzer:{VERSION}",
        "name": "commentanalyzer",
        "version": VERSION,
        "title": "Perspective Comment Analyzer API (Civility)",
        "description": "Civility's Perspective-compatible door: the comment is scored by "
        "Civility's engine; see docs/migrating-from-perspective.md.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "ownerDomain": "civility",
        "parameters": {
            "key": _string(
                "Your Civility API key (`civility apikey add`); the X-Goog-Api-Key header works "
                "too.",
                location="query",
            ),
            "alt": _string(
                "Data format for the response.", location="query", default="json", enum=["json"]
            ),
        },
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Scores the comment for the requested attributes.",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Hands Civility the score the comment should have had (stored as a "
                        "labelled example).",
                    ),
                }
            }
        },
        "schemas": SCHEMAS,
    }
