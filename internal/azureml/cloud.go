package azureml

import (
	"strings"

	"github.com/pfz-cli/pfz/internal/fault"
)

// Cloud is what differs between the Azure clouds pfz knows.
type Cloud struct {
	Name          string
	Authority     string // Entra authority host
	ARM           string // resource manager endpoint (no trailing slash)
	ARMAudience   string // token audience of ARM and the *.api.azureml.ms services
	MLAudience    string // audience of the aml-user-token header
	StorageSuffix string // blob host suffix: {account}.blob.{suffix}
	Studio        string // studio web host
}

// Clouds lists the supported clouds by name.
var clouds = map[string]Cloud{
	"azurecloud": {
		Name: "AzureCloud", Authority: "https://login.microsoftonline.com/",
		ARM: "https://management.azure.com", ARMAudience: "https://management.azure.com",
		MLAudience: "https://ml.azure.com", StorageSuffix: "core.windows.net", Studio: "https://ml.azure.com",
	},
	"azurechinacloud": {
		Name: "AzureChinaCloud", Authority: "https://login.chinacloudapi.cn/",
		ARM: "https://management.chinacloudapi.cn", ARMAudience: "https://management.chinacloudapi.cn",
		MLAudience: "https://ml.azure.cn", StorageSuffix: "core.chinacloudapi.cn", Studio: "https://studio.ml.azure.cn",
	},
	"azureusgovernment": {
		Name: "AzureUSGovernment", Authority: "https://login.microsoftonline.us/",
		ARM: "https://management.usgovcloudapi.net", ARMAudience: "https://management.usgovcloudapi.net",
		MLAudience: "https://ml.azure.us", StorageSuffix: "core.usgovcloudapi.net", Studio: "https://ml.azure.us",
	},
}

// CloudByName returns the cloud; "" is AzureCloud.
func CloudByName(name string) (Cloud, error) {
	if name == "" {
		name = "AzureCloud"
	}
	c, ok := clouds[strings.ToLower(name)]
	if !ok {
		return Cloud{}, fault.New(fault.Usage, "unknown cloud %q", name).
			WithHint("use one of AzureCloud, AzureChinaCloud, AzureUSGovernment")
	}
	return c, nil
}

func (c Cloud) armScope() string { return c.ARMAudience + "/.default" }
func (c Cloud) mlScope() string  { return c.MLAudience + "/.default" }
