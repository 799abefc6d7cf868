"""The table adapter's writes, against a recording client: every attribute written is a documented one."""

from __future__ import annotations

from typing import Any

from stoplist.adapters.table import ITEM_ATTRIBUTES, StopListTable
from stoplist.domain.ports import OptOutRecord, ProviderFields


class RecordingClient:
    def __init__(self) -> None:
        self.attributes: set[str] = set()

    def update_item(self, **request: Any) -> dict[str, Any]:
        self.attributes.update(request["Key"])
        self.attributes.update(request["ExpressionAttributeNames"].values())
        return {}

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        for requests in RequestItems.values():
            for request in requests:
                self.attributes.update(request["PutRequest"]["Item"])
        return {}


def test_every_attribute_written_is_in_item_attributes_and_the_reverse() -> None:
    client = RecordingClient()
    table = StopListTable("t", client)  # type: ignore[arg-type]

    table.record_opt_out(
        OptOutRecord("+33612345678", "e", source="crm", reason="r", opted_out_at="2024-01-01", stop_id=1), now="n"
    )
    table.merge_provider_fields("+33612345678", ProviderFields(1, "2015-07-20 10:19:45"), "n")
    table.put_new([("+33612345679", ProviderFields(2, "2015-07-20 10:19:45"))], "n")

    assert client.attributes == set(ITEM_ATTRIBUTES)
