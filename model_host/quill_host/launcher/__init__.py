"""`quill host --engine tgi`: start Hugging Face TGI for a model too big for the embedded host.

Four steps, one module each: detect the GPUs (`gpus`), plan precision, sharding and token limits
from the model's facts (`facts`, `tgi_plan`, both pure), build the command line (`command`), and
supervise the server (`supervisor`). `cli` ties them to `quill host`'s arguments, and
`registry` lists it among `quill host`'s launchers.
"""
