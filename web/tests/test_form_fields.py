"""The form controls every e-form page renders (_fields.html): input kinds, and what a screen reader is told."""
from web import catalogue
from web.pages import templates

SCHEMA = {"type": "object", "required": ["full_name", "born_on"],
          "properties": {"full_name": {"type": "string"}, "born_on": {"type": "string", "format": "date"},
                         "visit_on": {"type": "string", "format": "date"}, "contact": {"type": "string"},
                         "district": {"type": "string", "enum": ["a", "b"]}, "children": {"type": "integer"}}}
ENTRY = {"eForms": [{"fields": [{"name": "visit_on", "widget": "text"}, {"name": "contact", "widget": "date"}]}]}


def render(errors: dict | None = None) -> str:
    fields = catalogue.fields(SCHEMA, ENTRY, "lo")
    return templates.get_template("_fields.html").render(fields=fields, values={}, errors=errors or {}, t={"choose": "-"})


def control(page: str, name: str) -> str:
    start = page.index(f'id="f-{name}"')
    return page[page.rindex("<", 0, start):page.index(">", start) + 1]


def test_a_date_field_gets_the_browsers_date_picker_unless_the_design_names_another_widget():
    kinds = {field["name"]: field["kind"] for field in catalogue.fields(SCHEMA, ENTRY, "lo")}

    assert kinds["born_on"] == "date" and kinds["contact"] == "date"  # by its format; by the widget the design names
    assert kinds["visit_on"] == "text"  # the designer asked for a text box
    assert 'type="date"' in control(render(), "born_on")


def test_a_fields_error_is_tied_to_its_control_and_required_fields_say_so():
    page = render({"full_name": "ກະລຸນາໃສ່", "district": "ກະລຸນາເລືອກ", "children": "ບໍ່ຖືກຕ້ອງ"})

    for name in ("full_name", "district", "children"):
        assert 'aria-invalid="true"' in control(page, name) and f'aria-describedby="e-{name}"' in control(page, name)
        assert f'<p class="error" id="e-{name}">' in page
    assert 'aria-required="true"' in control(page, "full_name") and 'aria-required="true"' in control(page, "born_on")
    assert "aria-" not in control(page, "contact")  # neither required nor in error
