"""``genver.entities.Document``: MLflow's retrieved-document entity, built from LangChain and
LlamaIndex objects and round-tripped through the JSON a RETRIEVER span stores."""

from __future__ import annotations

from types import SimpleNamespace

import genver as mlflow
from genver.entities import Document


def test_document_as_mlflow_builds_it() -> None:
    doc = mlflow.entities.Document(page_content="Paris is in France.", metadata={"doc_uri": "a.md"}, id="1")
    assert doc.to_dict() == {
        "page_content": "Paris is in France.",
        "metadata": {"doc_uri": "a.md"},
        "id": "1",
    }
    assert Document.from_dict(doc.to_dict()) == doc
    assert Document("x").to_dict() == {"page_content": "x", "metadata": {}, "id": None}


def test_from_langchain_and_llama_index() -> None:
    lc = SimpleNamespace(page_content="text", metadata={"source": "s"})  # old LangChain: no id
    assert Document.from_langchain_document(lc) == Document("text", {"source": "s"}, None)
    node = SimpleNamespace(
        get_content=lambda: "body", get_score=lambda: 0.7, metadata={"file": "f"}, node_id="n-1"
    )
    assert Document.from_llama_index_node_with_score(node) == Document(
        "body", {"score": 0.7, "file": "f"}, "n-1"
    )


def test_a_traced_retriever_stores_documents_as_json() -> None:
    from genver.tracing.serialize import to_jsonable

    out = to_jsonable([Document("a", {"k": 1}, "d1")])
    assert out == [{"page_content": "a", "metadata": {"k": 1}, "id": "d1"}]
