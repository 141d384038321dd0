"""Blueprint files: TOML and JSON through pydantic models, into the attrs domain model.

pydantic is used here, at the boundary only: it checks the shape of a file, then the
domain classes of `touchpoint.model` check its meaning. Every problem is reported at
once in a `touchpoint.errors.BlueprintError` naming the file, the path inside it and
the bad value.

Examples
--------
>>> bp = loads_blueprint('''
... name = "mini"
... stages = ["awareness"]
... [[touchpoints]]
... code = "AD"
... name = "Billboard"
... category = "communication"
... stage = "awareness"
... line = "promotion"
... channels = ["advertising"]
... ''')
>>> loads_blueprint(dump_blueprint(bp, format="toml")) == bp
True
"""

from touchpoint._deprecation import moved_modules
from touchpoint.schema._build import blueprint_from_dict
from touchpoint.schema._customers import CustomerRows, customers_from_columns
from touchpoint.schema._dump import blueprint_to_dict
from touchpoint.schema._files import (
    blueprint_json_schema,
    dump_blueprint,
    load_blueprint,
    loads_blueprint,
    save_blueprint,
)
from touchpoint.schema._models import FORMAT_VERSION, BlueprintFile
from touchpoint.schema._records import validate_columns, validate_records

__all__ = [
    "FORMAT_VERSION",
    "BlueprintFile",
    "CustomerRows",
    "blueprint_from_dict",
    "blueprint_json_schema",
    "blueprint_to_dict",
    "customers_from_columns",
    "dump_blueprint",
    "load_blueprint",
    "loads_blueprint",
    "save_blueprint",
    "validate_columns",
    "validate_records",
]

# Old paths, kept for one release: the implementation modules are private now.
__getattr__ = moved_modules(
    __name__,
    {
        module: (__name__, f"{__name__}._{module}")
        for module in ("build", "dump", "files", "models", "records")
    },
)
