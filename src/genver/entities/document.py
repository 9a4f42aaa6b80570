"""``Document``: a retrieved document, as a RETRIEVER span returns it (MLflow's
``mlflow.entities.Document``). Judges of retrieval (groundedness, relevance) read the documents
from such spans' outputs."""

from __future__ import annotations

from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Document:
    """A retrieved document: its text, metadata (source, score, ...) and id.

    >>> Document(page_content="Paris is the capital of France.", metadata={"source": "wiki"}).to_dict()
    {'page_content': 'Paris is the capital of France.', 'metadata': {'source': 'wiki'}, 'id': None}
    """

    page_content: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"page_content", "metadata", "id"}``: the JSON a span stores for the document."""
        return {"page_content": self.page_content, "metadata": deepcopy(dict(self.metadata)), "id": self.id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        """The document a span's JSON output holds (``to_dict``'s shape; ``metadata`` and ``id``
        optional)."""
        return cls(
            page_content=data["page_content"], metadata=dict(data.get("metadata") or {}), id=data.get("id")
        )

    @classmethod
    def from_langchain_document(cls, document: Any) -> Document:
        """A LangChain ``Document`` (``page_content``, ``metadata``, and ``id`` in recent versions)."""
        return cls(
            page_content=document.page_content,
            metadata=deepcopy(document.metadata),
            id=getattr(document, "id", None),
        )

    @classmethod
    def from_llama_index_node_with_score(cls, node_with_score: Any) -> Document:
        """A LlamaIndex ``NodeWithScore``: its score goes into the metadata (the node's own
        metadata wins over it, as in MLflow)."""
        return cls(
            page_content=node_with_score.get_content(),
            metadata={"score": node_with_score.get_score(), **deepcopy(node_with_score.metadata)},
            id=node_with_score.node_id,
        )
