"""BPMN 2.0 import and export for the subset the flow engine runs.

`import_bpmn(xml)` → `BpmnImport` (a `FlowSpec`, or the list of reasons it was
refused — never an exception for bad input); `export_bpmn(spec)` → BPMN XML text.
"""

from builder.bpmn.exporter import export_bpmn
from builder.bpmn.importer import BpmnImport, Refusal, import_bpmn
from builder.bpmn.safe_xml import XmlRefusedError, parse_xml

__all__ = ["BpmnImport", "Refusal", "XmlRefusedError", "export_bpmn", "import_bpmn", "parse_xml"]
