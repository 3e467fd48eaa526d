"""The form engine: field catalogue, compilation and server-side processing.

    from engines.form import FormSpec, compile_form
    form = compile_form(FormSpec.model_validate(json.load(f)), forms=other_forms)
    result = form.process(submission, env=env, old=stored_or_None, lang="en",
                          source=record_source)
    if result.ok: store(result.data)            # normalised stored JSON
    else: reply_422(result.errors)              # [{"field", "code", "message"}, ...]

Pure: no store, no clock, no HTTP. Time comes from `env` (engines.expr.Env), other
records from a `RecordSource`; unique values, auto-numbers and relation existence
are the store's (see `CompiledForm.unique_fields`, `autonumber_fields`,
`relation_fields`, and `engines.form.autonumber`).
"""

from engines.form.autonumber import format_autonumber, period_key
from engines.form.changes import FormChange, diff_forms
from engines.form.compile import check_form, compile_form
from engines.form.compiled import CompiledForm, ProcessResult
from engines.form.importing import ImportedRow, process_rows, row_to_submission, suggest_mapping
from engines.form.issues import DefinitionIssue, FieldIssue, FormDefinitionError
from engines.form.plan import RecordSource
from engines.form.spec import FieldSpec, FormSpec

__all__ = [
    "CompiledForm", "DefinitionIssue", "FieldIssue", "FieldSpec", "FormChange",
    "FormDefinitionError", "FormSpec", "ImportedRow", "ProcessResult", "RecordSource",
    "check_form", "compile_form", "diff_forms", "format_autonumber", "period_key",
    "process_rows", "row_to_submission", "suggest_mapping",
]
