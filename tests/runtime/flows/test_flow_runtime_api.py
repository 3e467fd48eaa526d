"""The flow and task-centre HTTP API on SQLite and PostgreSQL: start with new data,
the task centre's boxes, acting (403 / 409 / 422 in the one error shape), the instance
with its trail and graph, withdraw, and the documented responses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from flow_runtime_kit import APP, setup, token

from runtime.api.app import create_app
from runtime.api.deps import get_actor
from runtime.context import Context
from runtime.flows.api import router as flows_router
from runtime.tasks.api import router as tasks_router


@pytest.fixture
def api(ctx: Context) -> Iterator[tuple[TestClient, Context]]:
    setup(ctx)
    app = create_app(ctx=ctx)
    mounted = "/api/v1/tasks" in app.openapi()["paths"]
    app.openapi_schema = None
    if not mounted:  # until runtime/api/app.py mounts them
        for router in (flows_router, tasks_router):
            app.include_router(router, prefix="/api/v1", dependencies=[Depends(get_actor)])
    with TestClient(app) as client:
        yield client, ctx


class As:
    def __init__(self, client: TestClient, ctx: Context, user: str) -> None:
        self.client, self.headers = client, token(ctx, user)

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{url}", params=params, headers=self.headers)

    def post(self, url: str, body: Any = None) -> Any:
        return self.client.post(f"/api/v1{url}", json=body, headers=self.headers)


def _todo(user: As) -> list[dict[str, Any]]:
    r = user.get("/tasks", box="todo")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_contract_approval_over_http(api: tuple[TestClient, Context]) -> None:
    client, ctx = api
    alice, sam, mallory = (As(client, ctx, u) for u in ("alice", "sam", "mallory"))
    r = alice.post(f"/apps/{APP}/flows/contract_approval/instances",
                   {"data": {"title": "大合同", "amount": "3000000"}, "comment": "请审批"})
    assert r.status_code == 201, r.text
    inst = r.json()
    assert inst["current_nodes"] == ["sales"] and inst["status"] == "running"
    assert [t["assignee"] for t in inst["tasks"]] == ["sam"]

    [task] = _todo(sam)
    assert task["flow_instance_id"] == inst["id"] and task["kind"] == "approval"
    detail = sam.get(f"/tasks/{task['id']}").json()
    assert detail["fields"]["editable"] == ["note"] and "approve" in detail["actions"]

    r = mallory.post(f"/tasks/{task['id']}/actions", {"action": "approve"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assignee"
    r = sam.post(f"/tasks/{task['id']}/actions", {"action": "approve", "values": {"title": "x"}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "field_not_editable"
    r = sam.post(f"/tasks/{task['id']}/actions",
                 {"action": "approve", "values": {"note": "价格合理"}, "comment": "同意"})
    assert r.status_code == 200, r.text
    assert r.json()["instance"]["current_nodes"] == ["gm"]
    r = sam.post(f"/tasks/{task['id']}/actions", {"action": "approve"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "task_closed"

    record = alice.get(f"/apps/{APP}/forms/contract/records/{inst['record_id']}").json()
    assert record["data"]["note"] == "价格合理" and record["version"] == 2

    for user in ("grace", "fay", "leo"):
        who = As(client, ctx, user)
        [mine] = _todo(who)
        assert who.post(f"/tasks/{mine['id']}/actions", {"action": "approve"}).status_code == 200
    view = alice.get(f"/flow-instances/{inst['id']}").json()
    assert view["status"] == "approved" and view["current_nodes"] == []
    assert not any(n["active"] for n in view["graph"]["nodes"])
    assert {"from": "big", "to": "gm"} in view["graph"]["edges"]
    trail = [(e["actor"], e["action"], e["comment"]) for e in view["trail"]]
    assert trail[0] == ("alice", "start", "请审批") and ("sam", "approve", "同意") in trail

    done = sam.get("/tasks", box="done").json()["items"]
    assert [t["id"] for t in done] == [task["id"]] and done[0]["outcome"] == "approved"
    assert sam.get("/tasks", box="todo", status="done").json()["items"][0]["id"] == task["id"]
    started = alice.get("/tasks", box="started").json()
    assert [i["id"] for i in started["instances"]] == [inst["id"]]
    assert alice.get("/tasks", box="started", status="open").json()["instances"] == []
    assert mallory.get(f"/flow-instances/{inst['id']}").status_code == 403


def test_withdraw_urge_and_bad_requests_over_http(api: tuple[TestClient, Context]) -> None:
    client, ctx = api
    alice, carl = As(client, ctx, "alice"), As(client, ctx, "carl")
    inst = alice.post(f"/apps/{APP}/flows/sign_flow/instances",
                      {"data": {"title": "撤回测试", "amount": "1"}}).json()
    r = alice.post(f"/flow-instances/{inst['id']}/urge")
    assert r.status_code == 200 and r.json()["open_tasks"][0]["assignee"] == "carl"
    assert carl.post(f"/flow-instances/{inst['id']}/urge").json()["error"]["code"] == \
        "not_initiator"
    r = alice.post(f"/flow-instances/{inst['id']}/comments", {"comment": "加急"})
    assert r.status_code == 200
    r = alice.post(f"/flow-instances/{inst['id']}/withdraw", {"comment": "不需要了"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert _todo(carl) == []
    r = alice.post(f"/flow-instances/{inst['id']}/withdraw")
    assert r.status_code == 409 and r.json()["error"]["code"] == "instance_closed"

    assert alice.get("/flow-instances/999999").status_code == 404
    assert alice.get("/flow-instances/abc").status_code == 404
    assert alice.post("/tasks/999999/actions", {"action": "approve"}).status_code == 404
    r = alice.post("/tasks/1/actions", {"action": "explode"})
    assert r.status_code == 422 and r.json()["error"]["details"]
    r = alice.post(f"/apps/{APP}/flows/nope/instances", {"data": {"title": "x"}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = alice.post(f"/apps/{APP}/flows/sign_flow/instances", {})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_start"
    r = alice.post(f"/apps/{APP}/flows/sign_flow/instances", {"data": {"amount": "1"}})
    assert r.status_code == 422  # the record's own validation: title is required
    assert alice.get("/tasks", box="nope").status_code == 422
    r = alice.post(f"/apps/{APP}/flows/sign_flow/instances",
                   {"data": {"title": "x"}, "chosen": {"nowhere": ["ann"]}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_node"


def test_starting_with_data_a_flow_the_created_event_starts_gives_that_instance(
        api: tuple[TestClient, Context]) -> None:
    client, ctx = api
    alice = As(client, ctx, "alice")
    r = alice.post(f"/apps/{APP}/flows/complaint_flow/instances",
                   {"data": {"subject": "投诉"}})
    assert r.status_code == 201, r.text
    assert r.json()["current_nodes"] == ["assign"]
    listed = alice.get("/tasks", box="started").json()["instances"]
    assert [i["id"] for i in listed] == [r.json()["id"]]  # started once, not twice


def test_openapi_documents_the_error_responses(api: tuple[TestClient, Context]) -> None:
    client, _ctx = api
    doc = client.get("/openapi.json").json()
    act = doc["paths"]["/api/v1/tasks/{task_id}/actions"]["post"]["responses"]
    assert {"200", "403", "404", "409", "422"} <= set(act)
    start = doc["paths"]["/api/v1/apps/{app}/flows/{flow}/instances"]["post"]["responses"]
    assert {"201", "404", "409"} <= set(start)
    assert "/api/v1/flow-instances/{instance_id}/withdraw" in doc["paths"]
