"""Read the module structure of a Canvas course export (Common Cartridge).

An export is a folder, or the same folder zipped as ``.imscc``. Two files of it
matter here: ``course_settings/module_meta.xml`` (modules, items, completion
requirements, prerequisites) and ``imsmanifest.xml`` (the title, and the
resources the items point at). Everything else in the export is ignored.

Both files are parsed with the standard library after a first pass that refuses
any document type or entity declaration, so a crafted export cannot expand
entities or reach outside the file. Every problem is an :class:`ExportError`
naming the file, and the line where the XML parser gives one.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

MANIFEST = "imsmanifest.xml"
MODULE_META = "course_settings/module_meta.xml"

#: Larger XML files are refused: the two files read here are a few hundred
#: kilobytes for a big course, and a zip member may claim any size.
MAX_XML_BYTES = 64 * 1024 * 1024

#: Canvas's class names in an export -> the item types of the Modules API.
CONTENT_TYPES = {
    "WikiPage": "Page",
    "Quizzes::Quiz": "Quiz",
    "DiscussionTopic": "Discussion",
    "Attachment": "File",
    "ContextModuleSubHeader": "SubHeader",
    "ExternalUrl": "ExternalUrl",
    "ContextExternalTool": "ExternalTool",
    "Assignment": "Assignment",
}

#: Item types found in the course by the title of their content.
_CONTENT_ITEM_TYPES = frozenset(
    {"Page", "Quiz", "Discussion", "File", "ExternalTool", "Assignment"}
)


class ExportError(ValueError):
    """The export cannot be read; the message names the file (and line)."""


@dataclass(frozen=True, slots=True)
class ExportResource:
    """One ``<resource>`` of ``imsmanifest.xml``."""

    identifier: str
    type: str
    href: str | None
    files: list[str]


@dataclass(frozen=True, slots=True)
class ExportItem:
    """One module item as the export holds it, typed with the API's names."""

    identifier: str
    #: API name: Page, Quiz, Discussion, File, SubHeader, ExternalUrl,
    #: ExternalTool or Assignment.
    type: str
    title: str
    #: ``active`` (published) or ``unpublished``.
    workflow_state: str
    position: int
    indent: int
    new_tab: bool
    #: The link of an ExternalUrl or ExternalTool item.
    url: str | None
    #: For a Page: the file name of its ``wiki_content/`` href, without ``.html``.
    page_slug: str | None
    #: The title the item's content is found by in a course: the item's own
    #: title, but for a File the name it is exported under. None for
    #: sub-headers and external URLs, which have no content.
    content_title: str | None
    #: ``{"type": ...}``, with ``"min_score"`` (a float) where the export has one.
    completion_requirement: dict[str, object] | None

    @property
    def published(self) -> bool:
        """Whether the item is published in the export."""
        return self.workflow_state == "active"


@dataclass(frozen=True, slots=True)
class ExportModule:
    """One module as the export holds it."""

    identifier: str
    title: str
    #: ``active`` (published) or ``unpublished``.
    workflow_state: str
    position: int
    require_sequential_progress: bool
    #: As written in the export: an ISO date and time in UTC, no zone suffix.
    unlock_at: str | None
    #: Identifiers of the modules that must be completed first.
    prerequisites: list[str]
    items: list[ExportItem]

    @property
    def published(self) -> bool:
        """Whether the module is published in the export."""
        return self.workflow_state == "active"


@dataclass(frozen=True, slots=True)
class CourseExport:
    """The module structure of one course export."""

    title: str
    modules: list[ExportModule]
    #: Resource identifier (an item's ``identifierref``) -> resource.
    resources: dict[str, ExportResource]

    @property
    def item_count(self) -> int:
        """The number of items over all modules."""
        return sum(len(module.items) for module in self.modules)


def read_export(path: Path) -> CourseExport:
    """Read the modules of the export at ``path``: a folder or an ``.imscc`` zip."""
    path = Path(path)
    if path.is_dir():
        load = _folder_loader(path)
    elif path.is_file():
        load = _zip_loader(path)
    else:
        raise ExportError(f"{path}: no such folder or .imscc file")

    manifest = _parse(load(MANIFEST), f"{path}/{MANIFEST}")
    meta_name = f"{path}/{MODULE_META}"
    meta = _parse(load(MODULE_META), meta_name)

    resources = _read_resources(manifest)
    title = _manifest_title(manifest) or _stem(path)
    modules = [
        _read_module(node, resources, meta_name)
        for node in meta
        if _local(node.tag) == "module"
    ]
    return CourseExport(title=title, modules=modules, resources=resources)


# --- getting at the files -------------------------------------------------


def _folder_loader(root: Path) -> Callable[[str], bytes]:
    def load(name: str) -> bytes:
        file = root / name
        try:
            size = file.stat().st_size
            if size > MAX_XML_BYTES:
                raise ExportError(f"{file}: larger than {MAX_XML_BYTES} bytes")
            return file.read_bytes()
        except FileNotFoundError:
            raise ExportError(f"{file}: missing from the export") from None
        except OSError as exc:
            raise ExportError(f"{file}: cannot be read ({exc.strerror})") from None

    return load


def _zip_loader(archive: Path) -> Callable[[str], bytes]:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = {info.filename: info for info in zf.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(
            f"{archive}: not a folder or a readable .imscc zip ({exc})"
        ) from None

    # An .imscc from Canvas has the manifest at the top; a folder zipped by
    # hand has it one level down. Take the shallowest manifest as the root.
    manifests = [n for n in infos if posixpath.basename(n) == MANIFEST]
    if not manifests:
        raise ExportError(f"{archive}/{MANIFEST}: missing from the export")
    top = min(manifests, key=lambda n: (n.count("/"), n))
    prefix = top[: -len(MANIFEST)]

    def load(name: str) -> bytes:
        info = infos.get(prefix + name)
        if info is None:
            raise ExportError(f"{archive}/{name}: missing from the export")
        if info.file_size > MAX_XML_BYTES:
            raise ExportError(f"{archive}/{name}: larger than {MAX_XML_BYTES} bytes")
        try:
            with zipfile.ZipFile(archive) as zf, zf.open(info) as member:
                data = member.read(MAX_XML_BYTES + 1)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ExportError(f"{archive}/{name}: cannot be read ({exc})") from None
        if len(data) > MAX_XML_BYTES:
            raise ExportError(f"{archive}/{name}: larger than {MAX_XML_BYTES} bytes")
        return data

    return load


def _stem(path: Path) -> str:
    return path.stem if path.suffix.lower() == ".imscc" else path.name


# --- safe XML -------------------------------------------------------------


class _Declared(Exception):
    def __init__(self, what: str, line: int) -> None:
        super().__init__(what)
        self.what = what
        self.line = line


def _parse(data: bytes, name: str) -> ET.Element:
    """Parse ``data`` after refusing document types and entity declarations."""
    _screen(data, name)
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        line = exc.position[0]
        raise ExportError(f"{name}:{line}: malformed XML ({exc.msg})") from None


def _screen(data: bytes, name: str) -> None:
    # A pass with expat's own handlers sees declarations in any encoding,
    # which a byte search for "<!DOCTYPE" would miss in UTF-16.
    parser = expat.ParserCreate()

    def refuse_doctype(*_: object) -> None:
        raise _Declared("a DOCTYPE declaration", parser.CurrentLineNumber)

    def refuse_entity(*_: object) -> None:
        raise _Declared("an ENTITY declaration", parser.CurrentLineNumber)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    try:
        parser.Parse(data, True)
    except _Declared as exc:
        raise ExportError(
            f"{name}:{exc.line}: holds {exc.what}, which exports never have; "
            "refusing to read it"
        ) from None
    except expat.ExpatError as exc:
        message = expat.ErrorString(exc.code)
        raise ExportError(f"{name}:{exc.lineno}: malformed XML ({message})") from None


def _local(tag: str) -> str:
    """The tag without its namespace: the CC versions use different ones."""
    return tag.rpartition("}")[2]


def _child(node: ET.Element, name: str) -> ET.Element | None:
    for child in node:
        if _local(child.tag) == name:
            return child
    return None


def _children(node: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in node if _local(child.tag) == name]


def _text(node: ET.Element, name: str) -> str | None:
    child = _child(node, name)
    if child is None or child.text is None:
        return None
    return child.text


# --- imsmanifest.xml ------------------------------------------------------


def _manifest_title(manifest: ET.Element) -> str | None:
    for node in manifest.iter():
        if _local(node.tag) == "general":
            title = _child(node, "title")
            if title is not None:
                text = _text(title, "string")
                if text and text.strip():
                    return text.strip()
    return None


def _read_resources(manifest: ET.Element) -> dict[str, ExportResource]:
    resources: dict[str, ExportResource] = {}
    holder = _child(manifest, "resources")
    if holder is None:
        return resources
    for node in _children(holder, "resource"):
        identifier = node.get("identifier")
        if not identifier:
            continue
        files = [f.get("href", "") for f in _children(node, "file") if f.get("href")]
        resources[identifier] = ExportResource(
            identifier=identifier,
            type=node.get("type", ""),
            href=node.get("href"),
            files=files,
        )
    return resources


# --- module_meta.xml ------------------------------------------------------


def _read_module(
    node: ET.Element, resources: dict[str, ExportResource], name: str
) -> ExportModule:
    identifier = _required_attr(node, "identifier", "module", name)
    where = f"{name}: module {identifier}"
    requirements = _read_requirements(node, where)

    prerequisites: list[str] = []
    holder = _child(node, "prerequisites")
    for pre in _children(holder, "prerequisite") if holder is not None else []:
        ref = (_text(pre, "identifierref") or "").strip()
        # Only modules can be prerequisites; an empty ref is a module that
        # was not exported, which Canvas would drop too.
        if pre.get("type", "context_module") == "context_module" and ref:
            prerequisites.append(ref)

    items_node = _child(node, "items")
    item_nodes = _children(items_node, "item") if items_node is not None else []
    items = [
        _read_item(item, index, resources, requirements, where)
        for index, item in enumerate(item_nodes, start=1)
    ]

    return ExportModule(
        identifier=identifier,
        title=_text(node, "title") or "",
        workflow_state=(_text(node, "workflow_state") or "active").strip(),
        position=_int(node, "position", 0, where),
        require_sequential_progress=_bool(node, "require_sequential_progress"),
        unlock_at=(_text(node, "unlock_at") or "").strip() or None,
        prerequisites=prerequisites,
        items=items,
    )


def _read_requirements(node: ET.Element, where: str) -> dict[str, dict[str, object]]:
    """Item identifier -> its completion requirement in this module."""
    found: dict[str, dict[str, object]] = {}
    holder = _child(node, "completionRequirements")
    if holder is None:
        return found
    for req in _children(holder, "completionRequirement"):
        ref = (_text(req, "identifierref") or "").strip()
        kind = req.get("type", "").strip()
        if not ref or not kind:
            continue
        requirement: dict[str, object] = {"type": kind}
        for score in ("min_score", "min_percentage"):
            text = (_text(req, score) or "").strip()
            if text:
                try:
                    requirement[score] = float(text)
                except ValueError:
                    raise ExportError(
                        f"{where}: completion requirement of {ref}: "
                        f"{score} {text!r} is not a number"
                    ) from None
        found[ref] = requirement
    return found


def _read_item(
    node: ET.Element,
    index: int,
    resources: dict[str, ExportResource],
    requirements: dict[str, dict[str, object]],
    where: str,
) -> ExportItem:
    identifier = _required_attr(node, "identifier", "item", where)
    here = f"{where}, item {identifier}"
    content_type = (_text(node, "content_type") or "").strip()
    api_type = CONTENT_TYPES.get(content_type)
    if api_type is None:
        known = ", ".join(sorted(CONTENT_TYPES))
        raise ExportError(
            f"{here}: content type {content_type!r} is not one the Modules API "
            f"can create (known: {known})"
        )

    title = _text(node, "title") or ""
    ref = (_text(node, "identifierref") or "").strip()
    url = (_text(node, "url") or "").strip() or None
    if api_type not in ("ExternalUrl", "ExternalTool"):
        url = None

    return ExportItem(
        identifier=identifier,
        type=api_type,
        title=title,
        workflow_state=(_text(node, "workflow_state") or "active").strip(),
        position=_int(node, "position", index, here),
        indent=_int(node, "indent", 0, here),
        new_tab=_bool(node, "new_tab"),
        url=url,
        page_slug=_page_slug(resources.get(ref)) if api_type == "Page" else None,
        content_title=_content_title(api_type, title, resources.get(ref)),
        completion_requirement=requirements.get(identifier),
    )


def _content_title(
    api_type: str, title: str, resource: ExportResource | None
) -> str | None:
    if api_type not in _CONTENT_ITEM_TYPES:
        return None
    # Renaming a file's item leaves the file's own name alone, so a file is
    # found by the name it is exported under. Other content shares its
    # title with its items: Canvas renames one with the other.
    if api_type == "File" and resource is not None:
        for href in (resource.href, *resource.files):
            if href and href.startswith("web_resources/"):
                return posixpath.basename(href) or title
    return title


def _page_slug(resource: ExportResource | None) -> str | None:
    if resource is None:
        return None
    for href in (resource.href, *resource.files):
        if href and href.startswith("wiki_content/") and href.endswith(".html"):
            return posixpath.basename(href)[: -len(".html")]
    return None


def _required_attr(node: ET.Element, attr: str, what: str, where: str) -> str:
    value = node.get(attr, "").strip()
    if not value:
        raise ExportError(f"{where}: a {what} has no {attr}")
    return value


def _int(node: ET.Element, name: str, default: int, where: str) -> int:
    text = (_text(node, name) or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ExportError(f"{where}: {name} {text!r} is not a whole number") from None


def _bool(node: ET.Element, name: str) -> bool:
    # Canvas writes "true"/"false", and an empty element for an unset flag.
    return (_text(node, name) or "").strip().lower() == "true"
